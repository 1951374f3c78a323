import { isJsonObject, type JsonObject } from '../io/jsonFile'
import { PatternError, SafePattern } from '../../../shared/pattern/safePattern'

/**
 * tokenizer.json carries regular expressions (Split pre-tokenisers, Replace normalisers and decoders) that
 * @huggingface/tokenizers compiles with `new RegExp` and runs on every text: a pattern such as `(a|a)+$`
 * would hang the process on one row. After the library has built its pipeline, each pattern that came from
 * the file is swapped for a SafePattern of the same source and flags (the library's own Oniguruma-to-JS
 * rewrite included), which matches identically in linear time and names the file and field when it refuses.
 */

/** Longest pattern a tokenizer.json may carry (real ones are under 300 characters). */
export const maxTokenizerPatternLength = 10_000

/** Every component of tokenizer.json that carries a `pattern: { Regex }`, with its path in the file. */
export function regexFields(json: JsonObject): Map<JsonObject, string> {
  const found = new Map<JsonObject, string>()
  const visit = (value: unknown, path: string, depth: number): void => {
    if (depth > 8) return
    if (Array.isArray(value)) return value.forEach((item, i) => visit(item, `${path}[${i}]`, depth + 1))
    if (!isJsonObject(value)) return
    const pattern = value['pattern']
    if (isJsonObject(pattern) && 'Regex' in pattern) found.set(value, `${path}.pattern.Regex`)
    for (const key of ['normalizers', 'pretokenizers', 'decoders']) if (key in value) visit(value[key], `${path}.${key}`, depth + 1)
  }
  for (const key of ['normalizer', 'pre_tokenizer', 'decoder']) visit(json[key], key, 0)
  return found
}

/** Refuse, before the library compiles anything, patterns that are not strings or are too long to be real. */
export function checkRegexFields(json: JsonObject): string | undefined {
  for (const [component, field] of regexFields(json)) {
    const source = (component['pattern'] as JsonObject)['Regex']
    if (typeof source !== 'string') return `${field}: must be a string, not ${JSON.stringify(source)}`
    if (source.length > maxTokenizerPatternLength) return `${field}: the pattern is ${source.length} characters long; at most ${maxTokenizerPatternLength} are accepted`
  }
  return undefined
}

/**
 * Replace, inside the library's built tokenizer, each RegExp compiled from a tokenizer.json Regex field with a
 * SafePattern. Components keep the JSON object they were built from as `config`, which is how each compiled
 * pattern is traced back to its field. Throws PatternError naming `file` and the field.
 */
export function boundTokenizerPatterns(tokenizer: object, json: JsonObject, file: string): number {
  const fields = regexFields(json)
  const seen = new Set<object>()
  const replaced = new Set<string>()
  const visit = (value: unknown, depth: number): void => {
    // The library's components are callable objects (functions), its Sequence keeps them in arrays.
    if (depth > 8 || (typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value)) return
    seen.add(value)
    if (Array.isArray(value)) return value.forEach((item) => visit(item, depth + 1))
    const component = value as { pattern?: unknown; config?: unknown }
    const field = isJsonObject(component.config) ? fields.get(component.config) : undefined
    if (field !== undefined && component.pattern instanceof RegExp) {
      component.pattern = SafePattern.compile(component.pattern.source, { where: `${file}: ${field}`, flags: component.pattern.flags, maxLength: 4 * maxTokenizerPatternLength })
      replaced.add(field)
    }
    for (const key of ['normalizers', 'tokenizers', 'decoders']) if (key in component) visit((component as JsonObject)[key], depth + 1)
  }
  const parts = tokenizer as JsonObject
  for (const key of ['normalizer', 'pre_tokenizer', 'decoder']) visit(parts[key], 0)
  for (const [component, field] of fields) {
    // A Regex field the walk did not reach would run unbounded: refuse it rather than hope.
    if (!replaced.has(field)) throw new PatternError(`${file}: ${field}`, String((component['pattern'] as JsonObject)['Regex']), 'sits where this app cannot bound its matching')
  }
  return replaced.size
}
