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
  /** Powers of two (0–16, 16–32, 32–64, …) so the buckets are known before the longest text is seen; token lengths are also split at max_length + 1. */
  histogram: LengthBucket[]
}

/**
 * Lengths gathered in one pass with fixed memory. `edge`: one more bucket boundary (token lengths split at
 * max_length + 1, so the buckets from there on count exactly the rows that will be truncated).
 */
export class LengthHistogram {
  /** Per power-of-two bucket; the one `edge` falls inside is counted in two halves. */
  private readonly counts: number[] = []
  private readonly upper: number[] = []
  private n = 0
  private sum = 0
  private min = Infinity
  private max = 0

  constructor(private readonly edge?: number) {}

  add(length: number): void {
    const bucket = bucketOf(length)
    if (this.edge !== undefined && length >= this.edge && bucketOf(this.edge) === bucket) this.upper[bucket] = (this.upper[bucket] ?? 0) + 1
    else this.counts[bucket] = (this.counts[bucket] ?? 0) + 1
    this.n++
    this.sum += length
    if (length < this.min) this.min = length
    if (length > this.max) this.max = length
  }

  summary(): LengthSummary {
    const histogram: LengthBucket[] = []
    const buckets = Math.max(this.counts.length, this.upper.length)
    for (let i = 0; i < buckets; i++) {
      const from = i === 0 ? 0 : 2 ** (i + 3)
      const to = 2 ** (i + 4)
      if (this.edge !== undefined && this.edge > from && this.edge < to) {
        histogram.push({ from, to: this.edge, count: this.counts[i] ?? 0 })
        histogram.push({ from: this.edge, to, count: this.upper[i] ?? 0 })
      } else histogram.push({ from, to, count: (this.counts[i] ?? 0) + (this.upper[i] ?? 0) })
    }
    return this.n === 0 ? { min: 0, max: 0, mean: 0, histogram } : { min: this.min, max: this.max, mean: this.sum / this.n, histogram }
  }
}

/** Powers of two: 0–16, 16–32, 32–64, … */
function bucketOf(length: number): number {
  return length < 16 ? 0 : Math.floor(Math.log2(length)) - 3
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
