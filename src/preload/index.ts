import { contextBridge, ipcRenderer } from 'electron'
import { channels, type SivaApi } from '../shared/api'

// Exactly the shared API, nothing more: no ipcRenderer, no Node.
const api: SivaApi = {
  appInfo: () => ipcRenderer.invoke(channels.appInfo)
}

contextBridge.exposeInMainWorld('api', api)
