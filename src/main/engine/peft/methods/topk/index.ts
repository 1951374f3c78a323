import { bandSize, restoreBand, singularBandAdapter } from '../../singularBand'
import type { PeftMethod } from '../../types'

/** Top-k: SiVA's mirror image, training the k largest singular values (the paper's comparison). */
export const topk: PeftMethod = {
  name: 'topk',
  kind: 'adapter',
  needsSvd: true,
  async adapt(weights, options) {
    const svd = await options.decompose(weights)
    const k = bandSize(svd.s.length, options)
    return singularBandAdapter(weights, svd, [0, k])
  },
  restore: restoreBand
}
