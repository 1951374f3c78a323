import { methodInfo, trainedBand } from '../../../../../shared/methods'
import { bandSize, restoreBand, singularBandAdapter } from '../../singularBand'
import type { AdapterMethod } from '../../types'

const info = methodInfo('topk')

/** Top-k: SiVA's mirror image, training the k largest singular values (the paper's comparison). */
export const topk: AdapterMethod = {
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
