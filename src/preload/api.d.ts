import type { SivaApi } from '../shared/api'

/**
 * What the desktop app's preload puts on `window.api`: the shared API, plus the one thing only Electron
 * can answer. A browser under `siva serve` has no `window.api` at all (src/renderer/src/api uses a socket).
 */
export interface DesktopApi extends SivaApi {
  /**
   * The path on disk of a file or folder dropped on the page (Electron's webUtils.getPathForFile: under
   * contextIsolation and sandbox, `File.path` no longer exists). '' for a File that is not on disk.
   * The path only names what to open: main checks it like any other path it is sent.
   */
  pathForFile(file: File): string
}

declare global {
  interface Window {
    api?: DesktopApi
  }
}
export {}
