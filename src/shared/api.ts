/** The contract between the renderer and whichever back end serves it (Electron IPC today). */
export interface AppInfo {
  name: string
  version: string
  versions: Record<string, string>
  platform: string
}

export interface SivaApi {
  appInfo(): Promise<AppInfo>
}

/** IPC channel names, one place for both sides. */
export const channels = {
  appInfo: 'siva:app-info'
} as const
