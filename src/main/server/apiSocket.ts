import type { WebSocket } from 'ws'
import type { ServerMessage } from '../../shared/api'
import type { SivaBackend } from '../services/backend'
import { Connection } from '../services/connection'

/** The most a client may send in one message: the API's messages are paths and settings, a few kilobytes. */
export const maxMessageBytes = 1024 * 1024

/**
 * Replies a client leaves unread before it is closed (1008): a page that stops reading while a run streams
 * its events would otherwise grow this process's memory without bound.
 */
const maxUnreadBytes = 64 * 1024 * 1024

/**
 * One client's WebSocket, speaking the protocol of src/shared/api.ts through a Connection. `ws` itself closes
 * a socket that breaks the framing (1002), sends text that is not UTF-8 (1007) or a message over
 * `maxMessageBytes` (1009); it then emits 'error', which must have a listener: an EventEmitter's 'error'
 * without one throws, and the throw would end the process.
 */
export function attachApiSocket(ws: WebSocket, backend: SivaBackend): void {
  const send = (message: ServerMessage): void => {
    if (ws.readyState !== ws.OPEN) return
    if (ws.bufferedAmount > maxUnreadBytes) return ws.close(1008, 'the client is not reading its replies')
    ws.send(JSON.stringify(message))
  }
  const connection = new Connection(backend, send)
  ws.on('error', () => {
    // Already answered by ws with a close code; nothing of the server's state depends on this socket.
  })
  ws.on('message', (data, isBinary) => {
    if (isBinary) return ws.close(1003, 'binary messages are not part of the protocol')
    let parsed: unknown
    try {
      parsed = JSON.parse(data.toString())
    } catch {
      return send({ type: 'error', id: -1, message: 'malformed message: not JSON' })
    }
    connection.handle(parsed)
  })
  ws.on('close', () => connection.close())
}
