/**
 * What the desktop app allows its web contents to do, and what quitting does, as plain functions over the
 * few members of Electron's objects they use. src/main/index.ts only wires them to Electron's events, so
 * every decision here runs (and is tested) in Node without an Electron binary.
 */

/** The part of a WebContents the guard uses (Electron's own object satisfies it). */
export interface GuardedContents {
  getURL(): string
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void
  on(event: 'will-navigate' | 'will-redirect', listener: (event: { preventDefault(): void }, url: string) => void): unknown
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): unknown
}

/** The part of a Session the permission handlers use. */
export interface PermissionSession {
  setPermissionRequestHandler(handler: (contents: unknown, permission: string, callback: (granted: boolean) => void) => void): void
  setPermissionCheckHandler(handler: (contents: unknown, permission: string) => boolean): void
}

/**
 * A link worth handing to the system's browser: https only (no file:, javascript:, custom schemes that
 * launch other programs), parsed, so what opens is what the URL parser read. Undefined for anything else.
 */
export function externalLink(url: string): string | undefined {
  try {
    const parsed = new URL(url)
    return parsed.protocol === 'https:' ? parsed.href : undefined
  } catch {
    return undefined
  }
}

/**
 * Every web contents the app creates shows our renderer and nothing else: no new windows (https links go
 * to the system's browser), no navigation or redirect away from the page it loaded (a file dropped
 * outside a drop zone included: Chromium would open it in place of the app), no <webview>. Installed from
 * `web-contents-created`, so it covers contents made later (a hidden GPU host, a devtools-opened page).
 */
export function guardWebContents(contents: GuardedContents, openExternal: (url: string) => void): void {
  contents.setWindowOpenHandler(({ url }) => {
    const link = externalLink(url)
    if (link) openExternal(link)
    return { action: 'deny' }
  })
  const stayOnPage = (event: { preventDefault(): void }, url: string): void => {
    // A reload of the same page is the only navigation there is.
    if (url !== contents.getURL()) event.preventDefault()
  }
  contents.on('will-navigate', stayOnPage)
  contents.on('will-redirect', stayOnPage)
  contents.on('will-attach-webview', (event) => event.preventDefault())
}

/** The app asks for no permission (camera, notifications, clipboard reads, …): every request and check is refused. */
export function denyAllPermissions(session: PermissionSession): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
}

/** Whether closing the last window quits the app: on Windows and Linux it does; on macOS the app stays, as Mac apps do. */
export function closingQuits(platform: string): boolean {
  return platform !== 'darwin'
}

/** A window that is still there: Electron's objects throw when used after they are destroyed. */
export function liveWindow<W extends { isDestroyed(): boolean }>(window: W | undefined): W | undefined {
  return window && !window.isDestroyed() ? window : undefined
}

/**
 * Quitting waits for the runs to stop with a checkpoint. The first `before-quit` is held back while
 * `stopRuns` runs (bounded by its own timeout); then the gate quits again and lets that one through. Later
 * quits while stopping are held too, so the runs are stopped once.
 */
export class QuitGate {
  private state: 'open' | 'stopping' | 'done' = 'open'

  constructor(
    private readonly stopRuns: () => Promise<unknown>,
    private readonly quit: () => void
  ) {}

  /** The before-quit handler: true means hold this quit back (`event.preventDefault()`). */
  beforeQuit(): boolean {
    if (this.state === 'done') return false
    if (this.state === 'open') {
      this.state = 'stopping'
      void this.stopRuns()
        .catch(() => undefined)
        .finally(() => {
          this.state = 'done'
          this.quit()
        })
    }
    return true
  }
}
