import { methodInfo } from '../../../../../shared/methods'
import type { WholeModelMethod } from '../../types'

const info = methodInfo('full')

/** Full fine-tuning: the model is built with every weight a variable (trainAll); no target is wrapped. */
export const full: WholeModelMethod = {
  name: info.name,
  kind: 'full',
  needsSvd: info.spectral
}
