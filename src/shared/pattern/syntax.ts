/**
 * The syntax tree of a JavaScript regular expression (Unicode mode), for the bounded matcher. The source has
 * already passed the JS engine's own parser, so this reader only has to find structure, not report typos.
 * Everything that matches one character (a literal, a class, an escape such as \p{L}, `.`) stays as its source
 * text: the matcher asks the JS engine about one code point at a time, so Unicode tables are the engine's own.
 */

export type PatternNode =
  | { kind: 'empty' }
  | { kind: 'char'; atom: string; literal?: number }
  | { kind: 'seq'; items: PatternNode[] }
  | { kind: 'alt'; options: PatternNode[] }
  | { kind: 'group'; index?: number; body: PatternNode }
  | { kind: 'look'; ahead: boolean; negate: boolean; body: PatternNode }
  | { kind: 'assert'; test: 'start' | 'end' | 'word' | 'notWord' }
  | { kind: 'repeat'; min: number; max: number; greedy: boolean; body: PatternNode; firstGroup: number; lastGroup: number }

/** A construct this matcher does not run (backreferences, captures inside lookarounds): refused with this reason. */
export class UnsupportedPattern extends Error {
  override name = 'UnsupportedPattern'
}

export interface ParsedPattern {
  root: PatternNode
  /** Capturing groups, named ones included. */
  groups: number
  /** Named groups: name → index. */
  names: Map<string, number>
}

export function parsePattern(source: string): ParsedPattern {
  let at = 0
  let groups = 0
  const names = new Map<string, number>()
  let lookDepth = 0

  const peek = (): string | undefined => source[at]

  function alternation(): PatternNode {
    const options = [sequence()]
    while (peek() === '|') {
      at++
      options.push(sequence())
    }
    return options.length === 1 ? options[0]! : { kind: 'alt', options }
  }

  function sequence(): PatternNode {
    const items: PatternNode[] = []
    while (at < source.length && peek() !== '|' && peek() !== ')') {
      const groupsBefore = groups
      const atom = term()
      items.push(quantified(atom, groupsBefore))
    }
    if (items.length === 0) return { kind: 'empty' }
    return items.length === 1 ? items[0]! : { kind: 'seq', items }
  }

  function quantified(body: PatternNode, groupsBefore: number): PatternNode {
    let min: number
    let max: number
    const c = peek()
    if (c === '*') [min, max] = [0, Infinity]
    else if (c === '+') [min, max] = [1, Infinity]
    else if (c === '?') [min, max] = [0, 1]
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(at, at + 40))
      if (!m) return body
      min = Number(m[1])
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3])
      at += m[0].length - 1
    } else return body
    at++
    let greedy = true
    if (peek() === '?') {
      greedy = false
      at++
    }
    return { kind: 'repeat', min, max, greedy, body, firstGroup: groupsBefore + 1, lastGroup: groups }
  }

  function term(): PatternNode {
    const c = source[at]!
    if (c === '(') return group()
    if (c === '[') return characterClass()
    if (c === '\\') return escape()
    if (c === '^' || c === '$') {
      at++
      return { kind: 'assert', test: c === '^' ? 'start' : 'end' }
    }
    const code = source.codePointAt(at)!
    const text = String.fromCodePoint(code)
    at += text.length
    return c === '.' ? { kind: 'char', atom: '.' } : { kind: 'char', atom: text, literal: code }
  }

  function group(): PatternNode {
    const head = /^\(\?(?:<[=!]|[=!:]|<[^>]*>)?/.exec(source.slice(at, at + 300))?.[0] ?? '('
    at += head.length
    const lookahead = head === '(?=' || head === '(?!'
    const lookbehind = head === '(?<=' || head === '(?<!'
    const capturing = head === '(' || (head.startsWith('(?<') && !lookbehind)
    // A lookaround is answered per position as a yes or no, without what it captured.
    if (capturing && lookDepth > 0) throw new UnsupportedPattern('capturing groups inside a lookaround are not supported; write (?:…) there')
    const index = capturing ? ++groups : undefined
    if (index !== undefined && head.length > 3) names.set(head.slice(3, -1), index)
    if (lookahead || lookbehind) lookDepth++
    const body = alternation()
    if (lookahead || lookbehind) lookDepth--
    at++ // ')'
    if (lookahead || lookbehind) return { kind: 'look', ahead: lookahead, negate: head.endsWith('!'), body }
    return index === undefined ? { kind: 'group', body } : { kind: 'group', index, body }
  }

  function characterClass(): PatternNode {
    const start = at
    at++
    if (peek() === '^') at++
    while (at < source.length && peek() !== ']') at += peek() === '\\' ? 2 : 1
    at++
    return { kind: 'char', atom: source.slice(start, at) }
  }

  function escape(): PatternNode {
    const start = at
    const next = source[at + 1] ?? ''
    if (next === 'b' || next === 'B') {
      at += 2
      return { kind: 'assert', test: next === 'b' ? 'word' : 'notWord' }
    }
    if (/[1-9]/.test(next) || next === 'k') throw new UnsupportedPattern('backreferences (\\1, \\k<name>) cannot be matched in bounded time')
    const rest = source.slice(at, at + 200)
    const braced = /^\\[pPu]\{[^}]*\}/.exec(rest)
    const fixed = /^\\(?:u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|c[A-Za-z])/.exec(rest)
    // A lead surrogate escape followed by a trail one is a single code point in Unicode mode.
    const pair = /^\\u[dD][89abAB][0-9A-Fa-f]{2}\\u[dD][c-fC-F][0-9A-Fa-f]{2}/.exec(rest)
    if (braced) at += braced[0].length
    else if (fixed) {
      at += (pair ?? fixed)[0].length
    } else at += 1 + String.fromCodePoint(source.codePointAt(at + 1) ?? 0x5c).length
    return { kind: 'char', atom: source.slice(start, at) }
  }

  const root = alternation()
  if (at < source.length) throw new UnsupportedPattern(`unexpected ${JSON.stringify(source[at])} at ${at}`)
  return { root, groups, names }
}
