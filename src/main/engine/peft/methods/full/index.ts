import type { PeftMethod } from '../../types'

/** Full fine-tuning: the model is built with every weight a variable; nothing is wrapped. */
export const full: PeftMethod = {
  name: 'full',
  kind: 'full',
  needsSvd: false,
  adapt() {
    return Promise.reject(new Error('full fine-tuning adapts no single target: build the model with trainAll'))
  }
}
