// The GPU host page: starts the training worker and relays between it and the host. The host's line is
// an Electron MessagePort (handed in by the window's preload through window.postMessage) or, where a
// test or a browser drives it, a WebSocket to 127.0.0.1 named in the page's address (?ws=PORT).
import { buffersOf, decodeFrame, encodeFrame } from './protocol'

interface PortLike {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void
  onmessage: ((event: { data: unknown }) => void) | null
  start?(): void
}

/** The page's globals used here (the Node type-check has no DOM library). */
interface MessageEventLike {
  data: unknown
  source: unknown
  ports: readonly unknown[]
}
interface WorkerLike {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void
  onmessage: ((event: { data: unknown }) => void) | null
  onerror: ((event: { message: string }) => void) | null
}
interface SocketLike {
  readonly readyState: number
  binaryType: string
  send(data: Uint8Array): void
  onmessage: ((event: { data: unknown }) => void) | null
  onopen: (() => void) | null
}
interface PageScope {
  Worker: new (url: URL, options: { type: 'module' }) => WorkerLike
  WebSocket: { new (url: string): SocketLike; readonly OPEN: number }
  location: { search: string }
  addEventListener(type: 'message', listener: (event: MessageEventLike) => void): void
  removeEventListener(type: 'message', listener: (event: MessageEventLike) => void): void
}
const window = globalThis as unknown as PageScope
const { WebSocket, location } = window

const worker = new window.Worker(new URL('./worker.js', import.meta.url), { type: 'module' })

function relay(toHost: (message: unknown) => void, fromHost: (listener: (message: unknown) => void) => void): void {
  worker.onmessage = (event) => toHost(event.data)
  worker.onerror = (event) => toHost({ kind: 'report', report: { type: 'failed', message: `the GPU host worker failed: ${event.message}`, name: 'Error' } })
  fromHost((message) => worker.postMessage(message, buffersOf(message)))
}

const wsPort = new URLSearchParams(location.search).get('ws')
if (wsPort !== null) {
  if (!/^\d{1,5}$/.test(wsPort)) throw new Error(`?ws=${wsPort}: not a port number`)
  const socket = new WebSocket(`ws://127.0.0.1:${wsPort}/`)
  socket.binaryType = 'arraybuffer'
  const queued: unknown[] = []
  relay(
    (message) => (socket.readyState === WebSocket.OPEN ? socket.send(encodeFrame(message)) : queued.push(message)),
    (listener) => {
      socket.onmessage = (event) => listener(decodeFrame(new Uint8Array(event.data as ArrayBuffer)))
    }
  )
  socket.onopen = () => {
    for (const message of queued.splice(0)) socket.send(encodeFrame(message))
  }
} else {
  // Electron: the preload posts the MessagePort once; only a message from this window itself counts.
  const onPort = (event: MessageEventLike): void => {
    if (event.source !== window || event.data !== 'siva-gpu-host-port' || event.ports.length !== 1) return
    window.removeEventListener('message', onPort)
    const port = event.ports[0] as unknown as PortLike
    relay(
      (message) => port.postMessage(message, buffersOf(message)),
      (listener) => {
        port.onmessage = (event) => listener(event.data)
        port.start?.()
      }
    )
  }
  window.addEventListener('message', onPort)
}
