import { createHash } from 'node:crypto'

export interface DuplicateSummary {
  /** Rows that repeat an earlier row exactly. */
  count: number
  /** The first few, each with the row it repeats. */
  examples: { row: number; sameAs: number }[]
}

/**
 * Exact repeats found by a 96-bit hash of the mapped values: memory grows by a short key per row,
 * whatever the length of the texts, and a false match is vanishingly unlikely.
 */
export class DuplicateFinder {
  private readonly firstRows = new Map<string, number>()
  private readonly summaryState: DuplicateSummary = { count: 0, examples: [] }

  constructor(private readonly maxExamples = 10) {}

  /** Returns the earlier row this one repeats, if any. */
  add(row: number, values: unknown[]): number | undefined {
    const key = createHash('sha256').update(JSON.stringify(values)).digest('base64').slice(0, 16)
    const first = this.firstRows.get(key)
    if (first === undefined) {
      this.firstRows.set(key, row)
      return undefined
    }
    this.summaryState.count++
    if (this.summaryState.examples.length < this.maxExamples) this.summaryState.examples.push({ row, sameAs: first })
    return first
  }

  summary(): DuplicateSummary {
    return { count: this.summaryState.count, examples: [...this.summaryState.examples] }
  }
}
