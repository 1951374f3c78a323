import { app, BrowserWindow, dialog, ipcMain, Menu, shell, type IpcMainEvent, type MenuItemConstructorOptions } from 'electron'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { demoForApp } from './services/demoAssets'
import { SivaBackend } from './services/backend'
import { Connection } from './services/connection'
import { channels } from '../shared/api'

const here = fileURLToPath(new URL('.', import.meta.url))
let mainWindow: BrowserWindow | undefined

function createWindow(): void {
  mainWindow = new BrowserWindow({
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
  mainWindow.once('ready-to-show', () => mainWindow?.show())

  // The window only ever shows our own renderer: navigation elsewhere is refused (a file dropped outside
  // the page's drop zones included: Chromium would open it in place of the app), links open outside.
  mainWindow.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url)
    return { action: 'deny' }
  })
  mainWindow.webContents.on('will-navigate', (event, url) => {
    if (url !== mainWindow?.webContents.getURL()) event.preventDefault()
  })

  const devUrl = process.env['ELECTRON_RENDERER_URL']
  if (!app.isPackaged && devUrl) void mainWindow.loadURL(devUrl)
  else void mainWindow.loadFile(join(here, '../renderer/index.html'))
}

/** Only our own window's top frame may call the API. */
function fromOurWindow(event: IpcMainEvent): boolean {
  return mainWindow !== undefined && event.sender === mainWindow.webContents && event.senderFrame === mainWindow.webContents.mainFrame
}

let backend: SivaBackend | undefined
let connection: Connection | undefined

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('second-instance', () => {
    if (mainWindow?.isMinimized()) mainWindow.restore()
    mainWindow?.focus()
  })
  void app.whenReady().then(() => {
    const demo = demoForApp()
    backend = new SivaBackend({
      runsDir: join(app.getPath('userData'), 'runs'),
      svdCacheDir: join(app.getPath('userData'), 'svd-cache'),
      ...(demo && { demo }),
      pickPath: async (kind, title) => {
        if (!mainWindow) return undefined
        const result = await dialog.showOpenDialog(mainWindow, { title: title ?? (kind === 'folder' ? 'Choose a folder' : 'Choose a file'), properties: [kind === 'folder' ? 'openDirectory' : 'openFile'] })
        return result.canceled ? undefined : result.filePaths[0]
      }
    })
    Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate()))
    // One connection per window load: a reload drops the old one's streams (runs keep training) and re-attaches.
    ipcMain.on(channels.toMain, (event, message: unknown) => {
      if (!fromOurWindow(event)) return
      if (!connection) connection = new Connection(backend!, (reply) => mainWindow?.webContents.send(channels.toRenderer, reply))
      connection.handle(message)
    })
    createWindow()
    mainWindow?.webContents.on('did-start-navigation', (_event, _url, isInPlace, isMainFrame) => {
      if (isMainFrame && !isInPlace) {
        connection?.close()
        connection = undefined
      }
    })
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow()
    })
  })
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
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
