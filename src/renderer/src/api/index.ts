import type { SivaApi } from '@shared/api'

/** The renderer's only door to the back end. Electron's preload provides it; other transports come later. */
export function useApi(): SivaApi {
  if (!window.api) throw new Error('The SiVA Studio back end is not connected (no preload API).')
  return window.api
}
