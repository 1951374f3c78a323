import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { _electron as electron } from 'playwright-core'
import { gpt3Encoder, writeGpt2Tokenizer } from '../helpers/gpt2Tokenizer'
import { tempDir } from '../helpers/paths'

// Launches the real Electron app and checks the window's security settings and the typed API. It
// needs Electron's binary, which `npm ci` downloads on a normal machine; where that download is
// impossible (ELECTRON_SKIP_BINARY_DOWNLOAD=1, offline CI) the test is skipped and says why.
const root = fileURLToPath(new URL('../..', import.meta.url))

function electronBinary(): { path?: string; why?: string } {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown as string
    if (typeof path === 'string' && existsSync(path)) return { path }
    return { why: `Electron's binary is not installed (${String(path)} missing)` }
  } catch (error) {
    return { why: `Electron's binary is not installed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` }
  }
}

const binary = electronBinary()
if (!binary.path) {
  console.warn(`[electron smoke test skipped] ${binary.why}. It runs wherever \`npm ci\` could download Electron (not with ELECTRON_SKIP_BINARY_DOWNLOAD=1).`)
}

describe.skipIf(!binary.path)('Electron app smoke test', () => {
  it('opens a context-isolated window without Node that reaches main only through the API', async () => {
    execFileSync(process.execPath, [fileURLToPath(new URL('../../node_modules/electron-vite/bin/electron-vite.js', import.meta.url)), 'build'], { cwd: root, stdio: 'inherit' })
    const app = await electron.launch({ executablePath: binary.path, args: [root], cwd: root })
    try {
      const page = await app.firstWindow()
      await page.getByRole('navigation').first().waitFor({ timeout: 30_000 })
      // The API works end to end through the preload and main's checks.
      expect(await page.evaluate(() => (globalThis as unknown as { api: { call(m: string, p: object): Promise<{ name: string }> } }).api.call('appInfo', {}).then((i) => i.name))).toBe('SiVA Studio')
      await expect(page.evaluate(() => (globalThis as unknown as { api: { call(m: string, p: object): Promise<unknown> } }).api.call('openModel', { path: 42 }))).rejects.toThrow(/openModel: path/)
      // No Node in the page, and no ipcRenderer leaked through the bridge.
      expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined')
      expect(await page.evaluate(() => Object.keys((globalThis as unknown as { api: object }).api))).toEqual(['call', 'stream', 'pathForFile'])
      // The path of a dropped file comes from webUtils in the sandboxed preload: a File made in script has none.
      expect(await page.evaluate(() => (globalThis as unknown as { api: { pathForFile(file: File): string } }).api.pathForFile(new File(['x'], 'made-in-script.txt')))).toBe('')
      // A file dropped outside a drop zone would navigate to it: main refuses every navigation away (will-navigate).
      const shown = page.url()
      await page.evaluate(() => {
        ;(globalThis as unknown as { location: { href: string } }).location.href = 'file:///'
      })
      await page.waitForTimeout(500)
      expect(page.url()).toBe(shown)
      // contextIsolation: the page's globals are not the preload's; no Node process object either.
      expect(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined')
      expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1)
      // No new windows (web-contents-created's guard) and no permission granted (the session's handlers).
      expect(await page.evaluate(() => (globalThis as unknown as { open(url: string): unknown }).open('https://example.com/') === null)).toBe(true)
      expect(await page.evaluate(() => (globalThis as unknown as { Notification: { requestPermission(): Promise<string> } }).Notification.requestPermission())).toBe('denied')
      expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1)
      // What closing the window does, as the app tells the page (Windows and Linux quit; macOS stays).
      expect(await page.evaluate(() => (globalThis as unknown as { api: { call(m: string, p: object): Promise<{ windowClose?: string }> } }).api.call('appInfo', {}).then((i) => i.windowClose))).toBe(process.platform === 'darwin' ? 'stays' : 'quits')
      // The native tokenizer (Hugging Face's Rust tokenizers, a Node-API addon) loads in Electron's main process,
      // required from the bundle's folder as fastTokenizer.ts requires it, and gives GPT-2's ids. Where it does
      // not, TextTokenizer falls back to the JS engine with this reason (tokenizer.engine / fallbackReason).
      const gpt2 = tempDir('electron-gpt2')
      writeGpt2Tokenizer(gpt2)
      const text = 'The native tokenizer runs in Electron: naïve café, 北京, 🎉.'
      const native = await app.evaluate(
        async (_electron, { bundle, file, sample }) => {
          try {
            const { createRequire } = (process as unknown as { getBuiltinModule(name: 'node:module'): typeof import('node:module') }).getBuiltinModule('node:module')
            type Addon = { Tokenizer: { fromFile(file: string): { encodeBatch(texts: string[], options: object): Promise<{ getIds(): number[] }[]> } } }
            const { Tokenizer } = createRequire(bundle)('tokenizers') as Addon
            const [encoding] = await Tokenizer.fromFile(file).encodeBatch([sample], { addSpecialTokens: false })
            return { ids: encoding!.getIds(), electron: process.versions.electron }
          } catch (error) {
            return { reason: error instanceof Error ? error.message : String(error), electron: process.versions.electron }
          }
        },
        { bundle: join(root, 'out/main/index.js'), file: join(gpt2, 'tokenizer.json'), sample: text }
      )
      expect(native, "the native tokenizer did not load in Electron's main process (the app then tokenises on the JS engine)").toEqual({ ids: gpt3Encoder.encode(text), electron: expect.any(String) })
    } finally {
      await app.close()
    }
  })
})
