/**
 * Spectral summaries of one weight matrix from its singular values alone (descending, ≥ 0).
 * DESIGN.md §1: SiVA trains the k = max(1, round(perc · r)) smallest values.
 */
export interface SpectralMetrics {
  /** Roy & Vetterli (2007): exp(−Σ pᵢ ln pᵢ), pᵢ = σᵢ / Σσⱼ. 0 for a zero matrix. */
  effectiveRank: number
  /** ‖W‖_F² / σ_max² = Σσᵢ² / σ₁². 0 for a zero matrix. */
  stableRank: number
  /** σ_max. */
  spectralNorm: number
  /** σ_max / σ_min; Infinity when σ_min = 0. */
  conditionNumber: number
  /** The number of bottom singular values SiVA would train at this perc. */
  bottomK: number
  /** Share of the energy Σσᵢ² held by the bottom k values. */
  bottomEnergyShare: number
}

/** k = max(1, round(perc · r)), never more than r. */
export function bottomK(rank: number, perc: number): number {
  if (!(perc > 0 && perc <= 1)) throw new RangeError(`perc must be in (0, 1], got ${perc}`)
  return Math.min(rank, Math.max(1, Math.round(perc * rank)))
}

export function effectiveRank(s: ArrayLike<number>): number {
  let total = 0
  for (let i = 0; i < s.length; i++) total += s[i]
  if (!(total > 0)) return 0
  let entropy = 0
  for (let i = 0; i < s.length; i++) {
    const p = s[i] / total
    if (p > 0) entropy -= p * Math.log(p)
  }
  return Math.exp(entropy)
}

export function spectralMetrics(s: ArrayLike<number>, perc = 0.1): SpectralMetrics {
  const r = s.length
  if (r === 0) throw new RangeError('a spectrum needs at least one singular value')
  const sMax = s[0]
  const sMin = s[r - 1]
  let energy = 0
  for (let i = 0; i < r; i++) energy += s[i] * s[i]
  const k = bottomK(r, perc)
  let bottom = 0
  for (let i = r - k; i < r; i++) bottom += s[i] * s[i]
  return {
    effectiveRank: effectiveRank(s),
    stableRank: sMax > 0 ? energy / (sMax * sMax) : 0,
    spectralNorm: sMax,
    conditionNumber: sMin > 0 ? sMax / sMin : Infinity,
    bottomK: k,
    bottomEnergyShare: energy > 0 ? bottom / energy : 0
  }
}
