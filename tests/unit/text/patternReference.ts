import { SafePattern } from '../../../src/shared/pattern/safePattern'

/**
 * What a pattern does to a text, through every String method that takes a RegExp: the JS engine's own
 * RegExp is the reference a SafePattern must equal (on inputs small enough for backtracking to finish).
 */
export function behaviour(pattern: RegExp | SafePattern, text: string): unknown {
  const re = pattern as RegExp
  return {
    test: re.test(text),
    matchAll: [...text.matchAll(re)].map((m) => [m.index, ...m]),
    match: text.match(re),
    split: text.split(re),
    replace: text.replace(re, '<$&|$1|$`>'),
    replaceFn: text.replace(re, (...args: unknown[]) => JSON.stringify(args.slice(0, -1)))
  }
}

/** A global RegExp and a fresh one for `test` (RegExp#test with g keeps lastIndex; SafePattern does not). */
export function reference(source: string, flags: string): RegExp {
  const global = new RegExp(source, flags)
  const plain = new RegExp(source, flags.replace('g', ''))
  global.test = (text: string) => plain.test(text)
  return global
}
