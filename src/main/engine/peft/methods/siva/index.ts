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
    // Only the band's vectors are asked for: for a large matrix the SVD can skip the rest.
    const r = Math.min(weights.target.outFeatures, weights.target.inFeatures)
    const band = trainedBand(info.name, r, bandSize(r, options))!
    return singularBandAdapter(weights, await options.decompose(weights, band), band)
  },
  restore: restoreBand
}
