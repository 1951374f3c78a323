import type { PeftMethod } from '../../types'

/** Linear probe: only the task head trains; every projection stays frozen. */
export const head: PeftMethod = {
  name: 'head',
  kind: 'head',
  needsSvd: false,
  adapt() {
    return Promise.reject(new Error('the head-only method adapts no target'))
  }
}
