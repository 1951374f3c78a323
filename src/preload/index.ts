import { contextBridge, ipcRenderer, webUtils } from 'electron'
import { channels, type ServerMessage } from '../shared/api'
import { MessageClient } from '../shared/client'
import type { DesktopApi } from './api'

// Exactly the shared API and the path of a dropped file, nothing more: no ipcRenderer, no Node. Messages
// go to main on one channel and come back on another; main checks every one.
const client = new MessageClient((message) => ipcRenderer.send(channels.toMain, message))
ipcRenderer.on(channels.toRenderer, (_event, message: ServerMessage) => client.receive(message))

const api: DesktopApi = {
  call: (method, params) => client.call(method, params),
  stream: (method, params, onEvent, onEnd) => client.stream(method, params, onEvent, onEnd),
  pathForFile: (file) => {
    try {
      return webUtils.getPathForFile(file)
    } catch {
      // Not a File (webUtils throws): the page gets "no path", as for a File built in script.
      return ''
    }
  }
}

contextBridge.exposeInMainWorld('api', api)
