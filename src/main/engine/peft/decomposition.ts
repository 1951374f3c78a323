import { columns } from './lowRank'
import type { Decomposition } from './types'

/**
 * The singular vectors of `band` [start, end) out of a decomposition, whole or of a band that covers it:
 * U_b as m×k and V_bᵀ as k×n, row-major, k = end − start (copies; the decomposition stays as it was).
 */
export function bandVectorsOf(svd: Decomposition, m: number, n: number, band: readonly [number, number], what = 'the SVD'): { ub: Float64Array; vtb: Float64Array } {
  const [start, end] = band
  const k = end - start
  const [held0, held1] = svd.band ?? [0, svd.s.length]
  if (start < held0 || end > held1 || start >= end) throw new Error(`${what} holds the singular vectors of [${held0}, ${held1}), not of the band [${start}, ${end})`)
  const width = held1 - held0
  if (svd.u.length !== m * width || svd.vt.length !== width * n) throw new Error(`${what}: its vectors do not fit a ${m}×${n} weight with ${width} of them`)
  const offset = start - held0
  return { ub: columns(svd.u, m, width, offset, offset + k), vtb: svd.vt.slice(offset * n, (offset + k) * n) }
}
