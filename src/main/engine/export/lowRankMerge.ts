import type { AdaptableLinear } from '../models/types'
import { lowRankProduct, type LowRank } from '../peft'

/**
 * Add each target's ΔW = B·A to `merged`, the values of the tensor the targets live in, in its stored
 * layout: [out, in] for nn.Linear, [in, total out] for Conv1D-style kernels (GPT-2, and the 1×1
 * convolutions of the sentence encoder, whose leading unit axes change nothing). Float64 throughout.
 */
export function addLowRank(merged: Float64Array, storedShape: readonly number[], updates: readonly { target: AdaptableLinear; factors: LowRank }[]): void {
  const cols = storedShape.at(-1)!
  for (const { target, factors } of updates) {
    const { outFeatures: m, inFeatures: n } = target
    const delta = lowRankProduct(factors, m, n)
    const [start] = target.slice ?? [0, m]
    if (target.conv1d) {
      // Stored [in, total out]: ΔW[o, i] lands at row i, column start + o.
      for (let o = 0; o < m; o++) for (let i = 0; i < n; i++) merged[i * cols + start + o] += delta[o * n + i]!
    } else {
      for (let o = 0; o < m; o++) for (let i = 0; i < n; i++) merged[(start + o) * n + i] += delta[o * n + i]!
    }
  }
}
