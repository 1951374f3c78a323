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

/**
 * Every summary but σ_max itself is a ratio, so each is computed on σᵢ / σ_max: σᵢ² of weights near 1e200
 * overflows float64 (and near 1e-170 underflows to 0), which made the stable rank and the energy share
 * NaN, while the ratios are in range. The condition number is one division of σ_max by σ_min, so it is
 * Infinity only when the ratio itself is beyond float64.
 */
export function effectiveRank(s: ArrayLike<number>): number {
  // The largest, not s[0]: training passes |σ + δ|, which need not be in order.
  let largest = 0
  for (let i = 0; i < s.length; i++) if (s[i] > largest) largest = s[i]
  if (!(largest > 0 && Number.isFinite(largest))) return largest > 0 ? NaN : 0
  let total = 0
  for (let i = 0; i < s.length; i++) total += s[i] / largest
  let entropy = 0
  for (let i = 0; i < s.length; i++) {
    const p = s[i] / largest / total
    if (p > 0) entropy -= p * Math.log(p)
  }
  return Math.exp(entropy)
}

export function spectralMetrics(s: ArrayLike<number>, perc = 0.1): SpectralMetrics {
  const r = s.length
  if (r === 0) throw new RangeError('a spectrum needs at least one singular value')
  const sMax = s[0]
  const sMin = s[r - 1]
  const k = bottomK(r, perc)
  let energy = 0
  let bottom = 0
  if (sMax > 0) {
    for (let i = 0; i < r; i++) {
      const t = s[i] / sMax
      energy += t * t
      if (i >= r - k) bottom += t * t
    }
  }
  return {
    effectiveRank: effectiveRank(s),
    stableRank: energy,
    spectralNorm: sMax,
    conditionNumber: sMin > 0 ? sMax / sMin : Infinity,
    bottomK: k,
    bottomEnergyShare: energy > 0 ? bottom / energy : 0
  }
}
