import { ipcRenderer } from 'electron'

// The GPU window's preload: it hands the page the one MessagePort main sent, and exposes nothing else
// (no API, no ipcRenderer). The page (src/main/gpuHost/page.ts) accepts it only from its own window.
const page = globalThis as unknown as { postMessage(message: string, targetOrigin: string, transfer: unknown[]): void; location: { origin: string } }
ipcRenderer.once('siva-gpu-host-port', (event) => {
  page.postMessage('siva-gpu-host-port', page.location.origin, event.ports)
})
