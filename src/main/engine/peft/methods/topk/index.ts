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
    const svd = await options.decompose(weights)
    const r = svd.s.length
    return singularBandAdapter(weights, svd, trainedBand(info.name, r, bandSize(r, options))!)
  },
  restore: restoreBand
}
