/** Counts per class, with the first row of each, so a class with one example can be pointed at. */
export interface ClassCount {
  label: string
  count: number
  firstRow: number
}

export interface NumericSummary {
  min: number
  max: number
  mean: number
}

/** Classes are counted up to this many; past it the label column is most likely the wrong one. */
export const maxClasses = 10_000

export class ClassTally {
  private readonly classes = new Map<string, ClassCount>()
  /** True once a label past `maxClasses` was not counted. */
  overflowed = false

  add(label: string, row: number): void {
    const known = this.classes.get(label)
    if (known) known.count++
    else if (this.classes.size < maxClasses) this.classes.set(label, { label, count: 1, firstRow: row })
    else this.overflowed = true
  }

  /** Most frequent first; ties in label order, so reports are stable. */
  counts(): ClassCount[] {
    return [...this.classes.values()].sort((a, b) => b.count - a.count || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
  }
}

export class NumericTally {
  private n = 0
  private sum = 0
  private min = Infinity
  private max = -Infinity

  add(value: number): void {
    this.n++
    this.sum += value
    if (value < this.min) this.min = value
    if (value > this.max) this.max = value
  }

  summary(): NumericSummary | undefined {
    return this.n === 0 ? undefined : { min: this.min, max: this.max, mean: this.sum / this.n }
  }
}

/**
 * A class label as text, or undefined when the value is not one: JSON numbers and booleans are classes
 * too ("1" and 1 name the same class, as they would after a CSV round trip), objects and arrays are not.
 */
export function classLabel(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim()
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return undefined
}

/** A regression target: a finite JSON number, or text that reads as one ("3.5", " -2e3 "). */
export function numericLabel(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value !== 'string' || value.trim() === '') return undefined
  const number = Number(value)
  return Number.isFinite(number) ? number : undefined
}
