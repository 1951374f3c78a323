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

/**
 * A decimal number as spreadsheets and pandas write it (which Hugging Face datasets reads CSV files with):
 * a sign, digits with an optional point, an optional exponent. Not what Number() reads besides: hex, octal
 * and binary ("0x10" is 16), "Infinity", "" (0). Written so that no part can match the same digits as
 * another, so a long cell is refused in one pass.
 */
const decimalNumber = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

export type NumericLabel = { ok: true; value: number } | { ok: false; reason: 'not-a-number' | 'out-of-range' }

/**
 * A regression target: a finite JSON number, or text that is a decimal number (blanks around it are read
 * past, as pandas does: " 3 " is 3). One beyond float64 ("1e999", or a JSON 1e999 that JSON.parse made
 * Infinity) is out of range rather than not a number, so the message can say which.
 */
export function numericLabel(value: unknown): NumericLabel {
  if (typeof value === 'number') return Number.isFinite(value) ? { ok: true, value } : { ok: false, reason: 'out-of-range' }
  if (typeof value !== 'string') return { ok: false, reason: 'not-a-number' }
  const text = value.trim()
  if (!decimalNumber.test(text)) return { ok: false, reason: 'not-a-number' }
  const number = Number(text)
  return Number.isFinite(number) ? { ok: true, value: number } : { ok: false, reason: 'out-of-range' }
}
