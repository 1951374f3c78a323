import { methodInfo, trainedBand } from '../../../../../shared/methods'
import { bandSize, restoreBand, singularBandAdapter } from '../../singularBand'
import type { AdapterMethod } from '../../types'

const info = methodInfo('siva')

/**
 * SiVA: train the k smallest singular values of each target, vectors frozen (DESIGN.md §1):
 * U_b = U[:, r−k:r], V_b = V[:, r−k:r], δ₀ = 0, so the model starts exactly where the checkpoint is.
 */
export const siva: AdapterMethod = {
  name: info.name,
  kind: 'adapter',
  needsSvd: info.spectral,
  async adapt(weights, options) {
    const svd = await options.decompose(weights)
    const r = svd.s.length
    const k = bandSize(r, options)
    return singularBandAdapter(weights, svd, trainedBand(info.name, r, k)!)
  },
  restore: restoreBand
}
