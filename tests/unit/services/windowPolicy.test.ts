import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { closingQuits, denyAllPermissions, externalLink, guardWebContents, liveWindow, QuitGate, type GuardedContents, type PermissionSession } from '../../../src/main/services/windowPolicy'

// The desktop app's window decisions, run in Node: Electron's main process cannot start here (no binary),
// so src/main/index.ts only wires these to Electron's events. The stand-ins below are event emitters with
// the members of WebContents and Session the policy uses, driven the way Electron drives them.

/** A WebContents as the guard sees it: events are emitted with an event object whose preventDefault is recorded. */
class Contents extends EventEmitter implements GuardedContents {
  openHandler?: (details: { url: string }) => { action: 'deny' }
  constructor(private readonly url: string) {
    super()
  }
  getURL(): string {
    return this.url
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void {
    this.openHandler = handler
  }
  /** Emit like Electron: true when a listener prevented the default. */
  attempt(event: 'will-navigate' | 'will-redirect' | 'will-attach-webview', url?: string): boolean {
    let prevented = false
    this.emit(event, { preventDefault: () => (prevented = true) }, url)
    return prevented
  }
}

const page = 'file:///Applications/SiVA%20Studio.app/Contents/Resources/app.asar/out/renderer/index.html'

describe('every web contents shows our page and nothing else', () => {
  it('refuses navigation and redirects away from the page; a reload of the page itself goes through', () => {
    const contents = new Contents(page)
    guardWebContents(contents, () => undefined)
    for (const url of ['https://example.com/', 'file:///etc/passwd', `${page}#x`, 'javascript:alert(1)', 'http://127.0.0.1:5173/']) {
      expect(contents.attempt('will-navigate', url), url).toBe(true)
      expect(contents.attempt('will-redirect', url), url).toBe(true)
    }
    expect(contents.attempt('will-navigate', page)).toBe(false)
  })

  it('refuses every <webview>', () => {
    const contents = new Contents(page)
    guardWebContents(contents, () => undefined)
    expect(contents.attempt('will-attach-webview')).toBe(true)
  })

  it('opens no window; an https link goes to the system browser, anything else nowhere', () => {
    const opened: string[] = []
    const contents = new Contents(page)
    guardWebContents(contents, (url) => opened.push(url))
    for (const url of ['https://huggingface.co/docs', 'http://example.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', 'not a url', 'https://[']) {
      expect(contents.openHandler!({ url }), url).toEqual({ action: 'deny' })
    }
    expect(opened).toEqual(['https://huggingface.co/docs'])
  })

  it('externalLink takes https only, as the URL parser reads it', () => {
    expect(externalLink('https://example.com/a b')).toBe('https://example.com/a%20b')
    expect(externalLink('HTTPS://Example.com')).toBe('https://example.com/')
    expect(externalLink('http://example.com')).toBeUndefined()
    expect(externalLink('ms-msdt:/id PCWDiagnostic')).toBeUndefined()
    expect(externalLink('')).toBeUndefined()
  })
})

describe('permissions', () => {
  it('every request is answered no, and every check says no', () => {
    let request: Parameters<PermissionSession['setPermissionRequestHandler']>[0] | undefined
    let check: Parameters<PermissionSession['setPermissionCheckHandler']>[0] | undefined
    denyAllPermissions({ setPermissionRequestHandler: (h) => (request = h), setPermissionCheckHandler: (h) => (check = h) })
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fileSystem', 'hid', 'serial', 'usb']) {
      const answers: boolean[] = []
      request!({}, permission, (granted) => answers.push(granted))
      expect(answers, permission).toEqual([false])
      expect(check!({}, permission), permission).toBe(false)
    }
  })
})

describe('closing and quitting', () => {
  it('closing the last window quits on Windows and Linux, not on macOS', () => {
    expect(closingQuits('win32')).toBe(true)
    expect(closingQuits('linux')).toBe(true)
    expect(closingQuits('darwin')).toBe(false)
  })

  it('a destroyed window is no window (macOS re-opens a new one instead of sending to the old)', () => {
    let destroyed = false
    const window = { isDestroyed: () => destroyed }
    expect(liveWindow(window)).toBe(window)
    destroyed = true
    expect(liveWindow(window)).toBeUndefined()
    expect(liveWindow(undefined)).toBeUndefined()
  })

  it('the first quit waits for the runs to stop, later ones too; then one quit goes through', async () => {
    let finishStopping!: () => void
    let stops = 0
    let quits = 0
    const gate = new QuitGate(
      () => {
        stops++
        return new Promise<void>((resolve) => (finishStopping = resolve))
      },
      () => quits++
    )
    expect(gate.beforeQuit()).toBe(true)
    expect(gate.beforeQuit()).toBe(true)
    expect(stops).toBe(1)
    expect(quits).toBe(0)
    finishStopping()
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(quits).toBe(1)
    // The quit the gate made itself is let through.
    expect(gate.beforeQuit()).toBe(false)
    expect(stops).toBe(1)
  })

  it('a failure while stopping still quits', async () => {
    let quits = 0
    const gate = new QuitGate(() => Promise.reject(new Error('worker gone')), () => quits++)
    expect(gate.beforeQuit()).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(quits).toBe(1)
    expect(gate.beforeQuit()).toBe(false)
  })
})
