import type { SivaApi } from '@shared/api'
import { websocketApi } from './websocket'

let api: SivaApi | undefined

/**
 * The renderer's only door to the back end: in the desktop app the preload's API (Electron IPC); in a
 * browser under `siva serve`, a WebSocket to the page's own server.
 */
export function useApi(): SivaApi {
  api ??= window.api ?? websocketApi(window.location)
  return api
}
