/** One bar of a length histogram: lengths in [from, to). */
export interface LengthBucket {
  from: number
  to: number
  count: number
}

export interface LengthSummary {
  min: number
  max: number
  mean: number
  /** Powers of two (0–16, 16–32, 32–64, …) so the buckets are known before the longest text is seen. */
  histogram: LengthBucket[]
}

/** Character lengths gathered in one pass with fixed memory. */
export class LengthHistogram {
  private readonly counts: number[] = []
  private n = 0
  private sum = 0
  private min = Infinity
  private max = 0

  add(length: number): void {
    const bucket = length < 16 ? 0 : Math.floor(Math.log2(length)) - 3
    this.counts[bucket] = (this.counts[bucket] ?? 0) + 1
    this.n++
    this.sum += length
    if (length < this.min) this.min = length
    if (length > this.max) this.max = length
  }

  summary(): LengthSummary {
    const histogram: LengthBucket[] = []
    for (let i = 0; i < this.counts.length; i++) {
      histogram.push({ from: i === 0 ? 0 : 2 ** (i + 3), to: 2 ** (i + 4), count: this.counts[i] ?? 0 })
    }
    return this.n === 0 ? { min: 0, max: 0, mean: 0, histogram } : { min: this.min, max: this.max, mean: this.sum / this.n, histogram }
  }
}

/** Characters as a reader counts them: code points, so an emoji is one, not two UTF-16 units. */
export function characterCount(text: string): number {
  let count = text.length
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit >= 0xdc00 && unit <= 0xdfff) count--
  }
  return count
}
