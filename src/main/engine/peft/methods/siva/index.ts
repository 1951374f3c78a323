import { bandSize, restoreBand, singularBandAdapter } from '../../singularBand'
import type { PeftMethod } from '../../types'

/**
 * SiVA: train the k smallest singular values of each target, vectors frozen (DESIGN.md §1):
 * U_b = U[:, r−k:r], V_b = V[:, r−k:r], δ₀ = 0, so the model starts exactly where the checkpoint is.
 */
export const siva: PeftMethod = {
  name: 'siva',
  kind: 'adapter',
  needsSvd: true,
  async adapt(weights, options) {
    const svd = await options.decompose(weights)
    const r = svd.s.length
    const k = bandSize(r, options)
    return singularBandAdapter(weights, svd, [r - k, r])
  },
  restore: restoreBand
}
