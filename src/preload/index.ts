import { contextBridge, ipcRenderer } from 'electron'
import { channels, type ServerMessage, type SivaApi } from '../shared/api'
import { MessageClient } from '../shared/client'

// Exactly the shared API, nothing more: no ipcRenderer, no Node. Messages go to main on one channel and
// come back on another; main checks every one.
const client = new MessageClient((message) => ipcRenderer.send(channels.toMain, message))
ipcRenderer.on(channels.toRenderer, (_event, message: ServerMessage) => client.receive(message))

const api: SivaApi = {
  call: (method, params) => client.call(method, params),
  stream: (method, params, onEvent, onEnd) => client.stream(method, params, onEvent, onEnd)
}

contextBridge.exposeInMainWorld('api', api)
