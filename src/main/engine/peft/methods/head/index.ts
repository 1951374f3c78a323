import { methodInfo } from '../../../../../shared/methods'
import type { WholeModelMethod } from '../../types'

const info = methodInfo('head')

/** Linear probe: only the task head trains; every projection stays frozen. */
export const head: WholeModelMethod = {
  name: info.name,
  kind: 'head',
  needsSvd: info.spectral
}
