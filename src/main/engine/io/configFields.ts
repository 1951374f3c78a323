import { CheckpointFormatError } from './errors'

/**
 * Typed access to the fields of one config.json. Every refusal is a CheckpointFormatError that names the
 * file and the field, whoever reads it: the description (hfConfig) and each family's settings share
 * this reader, so no config error can leave out where it came from. A field set to null counts as
 * absent, as transformers' config classes treat it.
 */
export class ConfigFields {
  constructor(
    readonly file: string,
    readonly raw: Record<string, unknown>
  ) {}

  /** Refuse `key`: `problem` says what is wrong, in words that follow the field's name. */
  fail(key: string, problem: string): never {
    throw new CheckpointFormatError(this.file, `field "${key}" ${problem}`)
  }

  /** Refuse the value `key` holds: `expectation` says what it must be; the value is quoted. */
  invalid(key: string, expectation: string): never {
    const value = this.raw[key]
    return this.fail(key, value === undefined ? `is missing (it ${expectation})` : `${expectation} (got ${quote(value)})`)
  }

  has(key: string): boolean {
    return this.present(key) !== undefined
  }

  private present(key: string): unknown {
    const value = Object.hasOwn(this.raw, key) ? this.raw[key] : undefined
    return value === null ? undefined : value
  }

  string(key: string): string | undefined {
    const value = this.present(key)
    if (value !== undefined && typeof value !== 'string') this.invalid(key, 'must be a string')
    return value as string | undefined
  }

  number(key: string): number | undefined {
    const value = this.present(key)
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) this.invalid(key, 'must be a number')
    return value as number | undefined
  }

  /** A whole number from `min` to `max`: sizes claimed by a config are bounded, so none can ask for the whole heap. */
  integer(key: string, max: number = Number.MAX_SAFE_INTEGER, min = 0): number | undefined {
    const value = this.present(key)
    if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max)) {
      this.invalid(key, max === Number.MAX_SAFE_INTEGER ? `must be a whole number of at least ${min}` : `must be a whole number from ${min} to ${max.toLocaleString('en-US')}`)
    }
    return value as number | undefined
  }

  /** A number greater than 0 (and at most `max`): a standard deviation, an epsilon. */
  positive(key: string, max = Number.MAX_VALUE): number | undefined {
    const value = this.number(key)
    if (value !== undefined && !(value > 0 && value <= max)) this.invalid(key, max === Number.MAX_VALUE ? 'must be greater than 0' : `must be greater than 0 and at most ${max}`)
    return value
  }

  /** A dropout probability: from 0 up to, not including, 1 (at 1 nothing would pass). */
  probability(key: string): number | undefined {
    const value = this.present(key)
    if (value !== undefined && !(typeof value === 'number' && value >= 0 && value < 1)) this.invalid(key, 'must be a probability from 0 up to (not including) 1')
    return value as number | undefined
  }

  boolean(key: string): boolean | undefined {
    const value = this.present(key)
    if (value !== undefined && typeof value !== 'boolean') this.invalid(key, 'must be true or false')
    return value as boolean | undefined
  }

  stringList(key: string): string[] | undefined {
    const value = this.present(key)
    if (value !== undefined && !(Array.isArray(value) && value.every((v) => typeof v === 'string'))) this.invalid(key, 'must be a list of strings')
    return value === undefined ? undefined : [...(value as string[])]
  }

  object(key: string): Record<string, unknown> | undefined {
    const value = this.present(key)
    if (value !== undefined && (typeof value !== 'object' || Array.isArray(value))) this.invalid(key, 'must be an object')
    return value as Record<string, unknown> | undefined
  }
}

/** A value as JSON, cut short: a message stays one readable line whatever the file holds. */
function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}
