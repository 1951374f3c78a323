import { app, BrowserWindow, dialog, ipcMain, Menu, session, shell, type IpcMainEvent, type MenuItemConstructorOptions } from 'electron'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { demoForApp } from './services/demoAssets'
import { SivaBackend } from './services/backend'
import { Connection } from './services/connection'
import { closingQuits, denyAllPermissions, guardWebContents, liveWindow, QuitGate } from './services/windowPolicy'
import { GpuWindowRouter, registerGpuHostScheme, serveGpuHost } from './services/gpuWindow'
import { gpuHostSwitches } from './services/gpuHostPage'
import { channels } from '../shared/api'

// Thin glue: what each Electron event does is decided in services/windowPolicy.ts (tested in Node).

const here = fileURLToPath(new URL('.', import.meta.url))
/** How long quitting waits for runs in training to stop at a step boundary with a checkpoint. */
const quitStopTimeoutMs = 20_000
let mainWindow: BrowserWindow | undefined

function createWindow(): void {
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    show: false,
    title: 'SiVA Studio',
    webPreferences: {
      preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true
    }
  })
  mainWindow = window
  window.once('ready-to-show', () => window.show())
  // A closed window is destroyed: forget it (and its connection), so nothing is sent to it and macOS's re-open makes a new one.
  window.on('closed', () => {
    if (mainWindow === window) mainWindow = undefined
    connection?.close()
    connection = undefined
  })
  // One connection per page load: a reload drops the old one's streams (runs keep training) and re-attaches.
  window.webContents.on('did-start-navigation', (details) => {
    if (details.isMainFrame && !details.isSameDocument) {
      connection?.close()
      connection = undefined
    }
  })

  const devUrl = process.env['ELECTRON_RENDERER_URL']
  if (!app.isPackaged && devUrl) void window.loadURL(devUrl)
  else void window.loadFile(join(here, '../renderer/index.html'))
}

/** Only our own window's top frame may call the API. */
function fromOurWindow(event: IpcMainEvent): boolean {
  const window = liveWindow(mainWindow)
  return window !== undefined && event.sender === window.webContents && event.senderFrame === window.webContents.mainFrame
}

let backend: SivaBackend | undefined
let connection: Connection | undefined

// WebGPU training runs in a hidden window (Dawn's addon cannot run in Electron): Chromium's WebGPU
// switches and the page's own scheme must be set before the app is ready.
for (const [name, value] of gpuHostSwitches(process.platform)) app.commandLine.appendSwitch(name, value)
registerGpuHostScheme()

// Every web contents, the window's and any made later: no new windows, no navigation away, no <webview>.
app.on('web-contents-created', (_event, contents) => guardWebContents(contents, (url) => void shell.openExternal(url)))

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('second-instance', () => {
    const window = liveWindow(mainWindow)
    if (window?.isMinimized()) window.restore()
    window?.focus()
  })
  void app.whenReady().then(() => {
    denyAllPermissions(session.defaultSession)
    serveGpuHost(join(here, '../gpuHost'))
    const gpu = new GpuWindowRouter(join(here, '../preload'))
    const demo = demoForApp()
    backend = new SivaBackend({
      runsDir: join(app.getPath('userData'), 'runs'),
      svdCacheDir: join(app.getPath('userData'), 'svd-cache'),
      ...(demo && { demo }),
      windowClose: closingQuits(process.platform) ? 'quits' : 'stays',
      probeWebGpu: () => gpu.probe(),
      sessionFactory: gpu.sessionFactory,
      pickPath: async (kind, title) => {
        const window = liveWindow(mainWindow)
        if (!window) return undefined
        const result = await dialog.showOpenDialog(window, { title: title ?? (kind === 'folder' ? 'Choose a folder' : 'Choose a file'), properties: [kind === 'folder' ? 'openDirectory' : 'openFile'] })
        return result.canceled ? undefined : result.filePaths[0]
      },
      revealPath: (path) => shell.showItemInFolder(path)
    })
    Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate()))
    ipcMain.on(channels.toMain, (event, message: unknown) => {
      if (!fromOurWindow(event)) return
      if (!connection) connection = new Connection(backend!, (reply) => liveWindow(mainWindow)?.webContents.send(channels.toRenderer, reply))
      connection.handle(message)
    })
    createWindow()
    app.on('activate', () => {
      if (!liveWindow(mainWindow)) createWindow()
    })
  })
  app.on('window-all-closed', () => {
    if (closingQuits(process.platform)) app.quit()
  })
  // Quitting stops runs in training with a checkpoint (bounded), so they continue where they stopped.
  const quitGate = new QuitGate(() => backend?.stopRuns(quitStopTimeoutMs) ?? Promise.resolve(), () => app.quit())
  app.on('before-quit', (event) => {
    if (quitGate.beforeQuit()) event.preventDefault()
  })
  app.on('will-quit', () => void backend?.close())
}

/** The app menu: the platform's usual menus (file, edit, view, window) and an About panel. */
function menuTemplate(): MenuItemConstructorOptions[] {
  return [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
    { role: 'help', submenu: [{ role: 'about' }] }
  ]
}
