import { svd } from '../../src/main/engine/linalg'
import type { Decompose } from '../../src/main/engine/peft'

/** SVDs on the calling thread, no cache: what tests and benches hand the engine instead of the worker pool. */
export const inProcessDecompose: Decompose = async (weights) => {
  const { outFeatures: m, inFeatures: n } = weights.target
  const result = svd(Float64Array.from(weights.weight), m, n)
  return { s: result.s, u: result.u!, vt: result.vt! }
}
