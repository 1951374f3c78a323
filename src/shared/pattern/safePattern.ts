import { Machine, StepLimitExceeded, type MatchContext } from './machine'
import { compileProgram } from './program'
import { parsePattern, UnsupportedPattern } from './syntax'

/**
 * Regular expressions from people and from files (a layer pattern, a tokenizer.json Split rule), matched in
 * time linear in the text: `^(.*.*)*X$` or `(a|a)+$` cost what `.*X` costs instead of pinning a core.
 *
 * The syntax and meaning are JavaScript's in Unicode mode (the `u` flag is always on), lookahead and
 * lookbehind included; backreferences have no linear-time matching and are refused. Each call also has a
 * step budget (a constant plus a multiple of the text's length) so that a huge program, or a global search
 * whose matches keep re-reading the rest of the text, fails with a message instead of running for minutes.
 * A SafePattern works wherever String#match, matchAll, split, replace and replaceAll take a RegExp.
 */

/** A pattern that cannot be used, or that ran out of steps; the message names the pattern and where it came from. */
export class PatternError extends Error {
  override name = 'PatternError'
  /** The message without `where`: "the pattern /…/ <reason>". */
  readonly detail: string
  constructor(
    /** The flag, field or file the pattern came from, e.g. `--targets` or `tokenizer.json: pre_tokenizer.pattern.Regex`. */
    readonly where: string,
    readonly source: string,
    reason: string,
    options?: ErrorOptions
  ) {
    const detail = `the pattern /${source.length > 200 ? `${source.slice(0, 200)}…` : source}/ ${reason}`
    super(`${where}: ${detail}`, options)
    this.detail = detail
  }
}

export interface PatternOptions {
  /** Named in every error: the flag, field or file the pattern came from. */
  where: string
  /** JavaScript flags among g, i, m, s, u (u is implied). */
  flags?: string
  /** Longest source accepted; default 1000 characters. */
  maxLength?: number
  /** Largest program once counted repetitions are written out; default 20,000 instructions. */
  maxInstructions?: number
  /** Steps allowed per call: `fixedSteps + stepsPerChar × (text length + 1)`; defaults 2,000,000 and 1,000. */
  fixedSteps?: number
  stepsPerChar?: number
}

/** What `test` needs: both a SafePattern and a trusted RegExp (a family's own default targets) fit. */
export interface NamePattern {
  readonly source: string
  test(text: string): boolean
}

interface FoundMatch {
  index: number
  end: number
  slots: Int32Array
}

type Replacer = (match: string, ...rest: unknown[]) => string

export class SafePattern implements NamePattern {
  readonly source: string
  readonly flags: string
  readonly where: string
  readonly global: boolean
  /** Present so String methods treat this as a regular expression; a SafePattern keeps no state between calls. */
  lastIndex = 0
  private readonly machine: Machine
  private readonly names: Map<string, number>
  private readonly groups: number
  private readonly fixedSteps: number
  private readonly stepsPerChar: number

  private constructor(source: string, flags: string, where: string, machine: Machine, names: Map<string, number>, fixedSteps: number, stepsPerChar: number) {
    this.source = source
    this.flags = flags
    this.where = where
    this.global = flags.includes('g')
    this.machine = machine
    this.names = names
    this.groups = machine.groups
    this.fixedSteps = fixedSteps
    this.stepsPerChar = stepsPerChar
  }

  /** Compile `source`; throws PatternError naming `options.where` when it is not valid or cannot run bounded. */
  static compile(source: string, options: PatternOptions): SafePattern {
    const { where } = options
    const maxLength = options.maxLength ?? 1000
    const given = options.flags ?? ''
    if (typeof source !== 'string') throw new PatternError(where, String(source), 'is not a string')
    if (source.length > maxLength) throw new PatternError(where, source, `is ${source.length} characters long; at most ${maxLength} are accepted`)
    const unknown = given.replace(/[gimsu]/g, '')
    if (unknown !== '') throw new PatternError(where, source, `has flags ${JSON.stringify(unknown)}; only g, i, m, s and u are supported`)
    const flags = [...new Set(given.includes('u') ? given : `${given}u`)].sort().join('')
    try {
      // The JS engine's parser has the last word on syntax; compiling runs nothing.
      new RegExp(source, flags)
    } catch (error) {
      throw new PatternError(where, source, `is not a valid regular expression: ${error instanceof Error ? error.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') : String(error)}`, { cause: error })
    }
    try {
      const parsed = parsePattern(source)
      const matchFlags = flags.replace(/[gm]/g, '')
      const compiled = compileProgram(parsed.root, parsed.groups, matchFlags, options.maxInstructions ?? 20_000)
      return new SafePattern(source, flags, where, new Machine(compiled, flags.includes('m')), parsed.names, options.fixedSteps ?? 2_000_000, options.stepsPerChar ?? 1000)
    } catch (error) {
      if (error instanceof UnsupportedPattern) throw new PatternError(where, source, `cannot be matched in bounded time: ${error.message}`, { cause: error })
      throw error
    }
  }

  /** Whether the pattern matches anywhere in `text` (RegExp#test without the g flag's state). */
  test(text: string): boolean {
    return this.run(text, (context) => this.machine.search(context, 0) !== null)
  }

  /** The first match at or after `from`: like RegExp#exec, as an array with index and input. */
  exec(text: string, from = 0): RegExpExecArray | null {
    return this.run(text, (context) => {
      const found = this.find(context, from)
      return found && this.execArray(text, found)
    })
  }

  [Symbol.match](text: string): RegExpMatchArray | null {
    if (!this.global) return this.exec(text)
    const all = this.run(text, (context) => this.all(context).map((found) => text.slice(found.index, found.end)))
    return all.length === 0 ? null : (all as RegExpMatchArray)
  }

  *[Symbol.matchAll](text: string): IterableIterator<RegExpExecArray> {
    const found = this.run(text, (context) => (this.global ? this.all(context) : [this.find(context, 0)].filter((m) => m !== null)))
    for (const match of found) yield this.execArray(text, match)
  }

  /** String#split's rules (ES2024 §22.2.6.14): an empty match where the last piece ended does not split. */
  [Symbol.split](text: string, limit?: number): string[] {
    const cap = limit === undefined ? 2 ** 32 - 1 : limit >>> 0
    const out: string[] = []
    if (cap === 0) return out
    return this.run(text, (context) => {
      if (text.length === 0) return this.find(context, 0) ? out : [text]
      let last = 0
      let from = 0
      while (from < text.length) {
        const found = this.find(context, from)
        if (!found || found.index >= text.length) break
        if (found.end === last || (found.end === found.index && found.index === last)) {
          from = this.advance(text, found.index)
          continue
        }
        out.push(text.slice(last, found.index))
        if (out.length === cap) return out
        for (let group = 1; group < this.groups + 1; group++) {
          out.push(this.group(text, found.slots, group) as string)
          if (out.length === cap) return out
        }
        last = found.end
        from = found.end === found.index ? this.advance(text, found.end) : found.end
      }
      out.push(text.slice(last))
      return out
    })
  }

  [Symbol.replace](text: string, replacement: string | Replacer): string {
    return this.run(text, (context) => {
      const found = this.global ? this.all(context) : [this.find(context, 0)].filter((m) => m !== null)
      let out = ''
      let last = 0
      for (const match of found) {
        const groups = Array.from({ length: this.groups }, (_, g) => this.group(text, match.slots, g + 1))
        const matched = text.slice(match.index, match.end)
        const named = this.namedGroups(text, match.slots)
        out += text.slice(last, match.index)
        out +=
          typeof replacement === 'function'
            ? String(named ? replacement(matched, ...groups, match.index, text, named) : replacement(matched, ...groups, match.index, text))
            : substitute(replacement, matched, match.index, text, groups, named)
        last = match.end
      }
      return out + text.slice(last)
    })
  }

  private run<T>(text: string, work: (context: MatchContext) => T): T {
    const maxSteps = this.fixedSteps + this.stepsPerChar * (text.length + 1)
    try {
      return work(this.machine.context(text, maxSteps))
    } catch (error) {
      if (error instanceof StepLimitExceeded) {
        throw new PatternError(this.where, this.source, `needed more than ${maxSteps} steps on a text of ${text.length} characters, and was stopped`, { cause: error })
      }
      throw error
    }
  }

  private find(context: MatchContext, from: number): FoundMatch | null {
    if (from > context.text.length) return null
    const slots = this.machine.search(context, from)
    return slots && { index: slots[0]!, end: slots[1]!, slots }
  }

  /** Every match, as a global RegExp finds them: after an empty match the search moves on one code point. */
  private all(context: MatchContext): FoundMatch[] {
    const found: FoundMatch[] = []
    for (let from = 0; from <= context.text.length; ) {
      const match = this.find(context, from)
      if (!match) break
      found.push(match)
      from = match.end === match.index ? this.advance(context.text, match.end) : match.end
    }
    return found
  }

  private advance(text: string, at: number): number {
    const code = text.codePointAt(at)
    return at + (code !== undefined && code > 0xffff ? 2 : 1)
  }

  private group(text: string, slots: Int32Array, group: number): string | undefined {
    const start = slots[2 * group]!
    const end = slots[2 * group + 1]!
    return start < 0 || end < 0 ? undefined : text.slice(start, end)
  }

  private execArray(text: string, found: FoundMatch): RegExpExecArray {
    const values: (string | undefined)[] = [text.slice(found.index, found.end)]
    for (let group = 1; group < this.groups + 1; group++) values.push(this.group(text, found.slots, group))
    return Object.assign(values, { index: found.index, input: text, groups: this.namedGroups(text, found.slots) }) as RegExpExecArray
  }

  /** Named groups as RegExp gives them: an object without prototype, undefined when the pattern names none. */
  private namedGroups(text: string, slots: Int32Array): Record<string, string | undefined> | undefined {
    if (this.names.size === 0) return undefined
    const groups = Object.create(null) as Record<string, string | undefined>
    for (const [name, index] of this.names) groups[name] = this.group(text, slots, index)
    return groups
  }
}

/** GetSubstitution (ES2024 §22.1.3.19.1): $$, $&, $`, $', $n, $nn and $<name>. */
function substitute(template: string, matched: string, position: number, text: string, groups: (string | undefined)[], named: Record<string, string | undefined> | undefined): string {
  if (!template.includes('$')) return template
  let out = ''
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!
    const next = template[i + 1]
    if (c !== '$' || next === undefined) {
      out += c
      continue
    }
    if (next === '$') out += '$'
    else if (next === '&') out += matched
    else if (next === '`') out += text.slice(0, position)
    else if (next === "'") out += text.slice(position + matched.length)
    else if (next >= '0' && next <= '9') {
      const two = Number(template.slice(i + 1, i + 3))
      if (/^\d\d$/.test(template.slice(i + 1, i + 3)) && two >= 1 && two <= groups.length) {
        out += groups[two - 1] ?? ''
        i += 2
        continue
      }
      const one = Number(next)
      if (one >= 1 && one <= groups.length) out += groups[one - 1] ?? ''
      else out += `$${next}`
    } else if (next === '<' && named) {
      const close = template.indexOf('>', i + 2)
      if (close < 0) {
        out += '$<'
      } else {
        out += named[template.slice(i + 2, close)] ?? ''
        i = close
        continue
      }
    } else {
      out += '$'
      continue
    }
    i++
  }
  return out
}

/** Longest layer pattern accepted (the Layers step builds its patterns within this). */
export const maxNamePatternLength = 1000

/**
 * A pattern a person typed to pick layers or modules by name (`query|value`, like PEFT's target_modules),
 * matched anywhere in a name. Names are short, so the program is kept small too: every name costs at most a
 * few hundred thousand steps whatever the pattern. Throws PatternError naming `where` (a flag, a field).
 */
export function namePattern(source: string, where: string): SafePattern {
  return SafePattern.compile(source, { where, maxLength: maxNamePatternLength, maxInstructions: 5000 })
}
