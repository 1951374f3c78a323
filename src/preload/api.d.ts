import type { SivaApi } from '../shared/api'

declare global {
  interface Window {
    api?: SivaApi
  }
}
export {}
