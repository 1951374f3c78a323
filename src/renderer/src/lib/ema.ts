/**
 * Exponential moving average with the start-up bias removed (as TensorBoard smooths a loss curve): after
 * n values the raw average is divided by 1 − weightⁿ, so the first smoothed value is the first value
 * rather than a fraction of it. Values that are not finite (a NaN loss) leave the average unchanged.
 */
export class MovingAverage {
  private biased = 0
  private count = 0

  constructor(readonly weight = 0.9) {
    if (!(weight >= 0 && weight < 1)) throw new RangeError(`the smoothing weight must be in [0, 1), got ${weight}`)
  }

  /** Add a value; returns the smoothed value so far (NaN until a finite value arrived). */
  push(value: number): number {
    if (Number.isFinite(value)) {
      this.biased = this.weight * this.biased + (1 - this.weight) * value
      this.count++
    }
    return this.value
  }

  get value(): number {
    return this.count === 0 ? NaN : this.biased / (1 - this.weight ** this.count)
  }

  reset(): void {
    this.biased = 0
    this.count = 0
  }
}

/** The smoothed series of `values`. */
export function smooth(values: readonly number[], weight = 0.9): number[] {
  const average = new MovingAverage(weight)
  return values.map((v) => average.push(v))
}

/**
 * A chart series [x, value, …rest] smoothed with `weight` (0 leaves it as it is); the x and any extra
 * fields of each point stay, so a smoothed loss lines up with the raw one on either x-axis.
 */
export function smoothPoints<P extends readonly [number, number, ...number[]]>(points: readonly P[], weight: number): P[] {
  if (weight === 0) return points.slice()
  const average = new MovingAverage(weight)
  return points.map((p) => {
    const out: number[] = [...p]
    out[1] = average.push(p[1])
    return out as unknown as P
  })
}
