import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { namePattern, PatternError, SafePattern } from '../../../src/shared/pattern/safePattern'
import { trainConfigInput } from '../../../src/shared/api'
import { repoRoot, tinyGpt2 } from '../../helpers/paths'
import { realSentences } from '../../helpers/text'
import { behaviour, reference } from './patternReference'

const gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

/** Patterns with every construct the matcher has: the real tokenizers' ones, and the library's rewrites of ^, $, \b. */
const patterns: [string, string][] = [
  [gpt2, 'gu'],
  ["(?:'[sS]|'[tT]|'[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", 'gu'],
  ['(?:(?<![\\s\\S])|(?<=\\n))\\s+|\\s+(?=\\n?(?![\\s\\S]))', 'gu'],
  ['(?:(?<![\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}])(?=[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}])|(?<=[\\p{Alphabetic}])(?![\\p{Alphabetic}]))', 'gu'],
  ['(a)|b', 'g'],
  ['(?:(a)|b)+', 'g'],
  ['(a|ab)(c|bcd)(d*)', 'g'],
  ['a*?', 'g'],
  ['(a*)*b', 'g'],
  ['(a|)*c', 'g'],
  ['x{2,3}', 'g'],
  ['x{2,3}?', 'g'],
  ['x{2,}', 'g'],
  ['\\bthe\\b', 'gi'],
  ['^\\w+$', 'gm'],
  ['^.+$', 'gs'],
  ['(?<=(?<!a)b)c', 'g'],
  ['(?=(?:ab)+c)a', 'g'],
  ['😀+|[😀é]', 'gu'],
  ['', 'g'],
  ['(?<word>\\p{L}+)\\s', 'gu'],
  ['[^]', 'g'],
  ['\\u{1F600}|\\x41|\\u0042|\\cJ|\\0', 'gu'],
  ['ſ|K|σ', 'giu'],
  ['(?:a|b|)+?c', 'g'],
  ['\\.\\d+\\.(?:attention\\.self\\.query|attention\\.self\\.value)$', 'g']
]

const texts = [
  ...realSentences(40),
  "It's   a TEST, isn't it?  \n\n  end  ",
  'abcd abab aaab xxxxxxx aac bc',
  'line one\nline two\r\nthree',
  'the The THE theme',
  'a😀😀b é😀 ſK σΣ',
  '',
  ' ',
  '\n',
  'AB\n\u0000',
  'bert.encoder.layer.3.attention.self.query',
  'cbabc abcbc aabc'
]

describe('SafePattern matches exactly like RegExp', () => {
  for (const [source, flags] of patterns) {
    it(`/${source.slice(0, 60)}/${flags}`, () => {
      const safe = SafePattern.compile(source, { where: 'test', flags })
      // Always Unicode mode: the reference gets the flags the pattern runs with.
      const re = reference(source, safe.flags)
      for (const text of texts) expect(behaviour(safe, text), JSON.stringify(text)).toEqual(behaviour(re, text))
    })
  }

  it('exec from a position, and RegExp-like fields String methods look at', () => {
    const safe = SafePattern.compile('b(c)?', { where: 'test', flags: 'g' })
    expect(safe.flags).toBe('gu')
    expect(safe.exec('abcab', 2)).toStrictEqual(Object.assign(['b', undefined], { index: 4, input: 'abcab', groups: undefined }))
    expect(safe.exec('abc', 3)).toBeNull()
  })
})

describe('catastrophic patterns cost linear time', () => {
  const cases: [string, string, boolean][] = [
    ['^(.*.*)*X$', 'a'.repeat(20_000), false],
    ['(a|a)+$', `${'a'.repeat(20_000)}b`, false],
    ['(a+)+b', 'a'.repeat(20_000), false],
    ['^(\\w+\\s?)*$', `${'word '.repeat(4000)}!`, false],
    ['(x+x+)+y', 'x'.repeat(20_000), false],
    ['^(a|aa)+$', 'a'.repeat(20_000), true],
    ['(?=(?:a+)+b)a', 'a'.repeat(20_000), false]
  ]
  for (const [source, text, expected] of cases) {
    it(`/${source}/ on ${text.length} characters`, () => {
      const safe = SafePattern.compile(source, { where: '--layers' })
      const started = performance.now()
      expect(safe.test(text)).toBe(expected)
      expect(performance.now() - started).toBeLessThan(3000)
      // The same pattern on a text short enough for backtracking: same answer.
      expect(safe.test(text.slice(-12))).toBe(new RegExp(source, 'u').test(text.slice(-12)))
    })
  }

  it('a global search whose matches re-read the rest of the text runs out of steps and says so', () => {
    // Each match of `a*b|a` first follows a*b to the end of the text: quadratic in any leftmost-first engine.
    const safe = SafePattern.compile('a*b|a', { where: 'tokenizer.json: pre_tokenizer.pattern.Regex', flags: 'g' })
    // 20,000 characters: about 2·10⁸ steps to finish, against a budget of 2.2·10⁷ (a second or two here).
    const text = 'a'.repeat(20_000)
    const started = performance.now()
    expect(() => text.match(safe as unknown as RegExp)).toThrow(
      new PatternError('tokenizer.json: pre_tokenizer.pattern.Regex', 'a*b|a', `needed more than ${2_000_000 + 1000 * 20_001} steps on a text of 20000 characters, and was stopped`)
    )
    // Generous: what is tested is that the budget stops it, not how fast this machine is.
    expect(performance.now() - started).toBeLessThan(30_000)
    expect('aab'.match(safe as unknown as RegExp)).toEqual(['aab'])
  })
})

describe('refusals name the pattern and where it came from', () => {
  it('backreferences, which have no linear-time matching', () => {
    expect(() => namePattern('(q)\\1', '--targets')).toThrow('--targets: the pattern /(q)\\1/ cannot be matched in bounded time: backreferences (\\1, \\k<name>) cannot be matched in bounded time')
    expect(() => namePattern('(?<x>q)\\k<x>', '--layers')).toThrow(/^--layers: .*backreferences/)
  })

  it('invalid syntax, with the JS engine reason', () => {
    expect(() => namePattern('(query', '--layers')).toThrow('--layers: the pattern /(query/ is not a valid regular expression: Unterminated group')
  })

  it('too long, or too large once counted repetitions are written out', () => {
    expect(() => namePattern('a'.repeat(1001), 'targets')).toThrow(/^targets: the pattern \/a+…\/ is 1001 characters long; at most 1000 are accepted$/)
    expect(() => namePattern('(?:a{100}){100}', 'overrides[0].pattern')).toThrow('overrides[0].pattern: the pattern /(?:a{100}){100}/ cannot be matched in bounded time: is too large once its repetitions are written out (over 5000 steps)')
  })

  it('flags other than g, i, m, s, u', () => {
    expect(() => SafePattern.compile('a', { where: 'x', flags: 'gy' })).toThrow('x: the pattern /a/ has flags "y"; only g, i, m, s and u are supported')
  })

  it('the API schema refuses what the back end would, with the same words', () => {
    const parsed = trainConfigInput.safeParse({ model: '/m', data: '/d', task: 'classify', targets: '(a)\\1' })
    expect(parsed.success).toBe(false)
    expect(parsed.error!.issues[0]!.message).toMatch(/^pattern: the pattern \/\(a\)\\1\/ cannot be matched in bounded time/)
  })
})

describe('layer patterns from the command line', () => {
  const siva = (...args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 })

  it('siva inspect --layers ^(.*.*)*X$ answers (nothing matches) instead of pinning a core', () => {
    const started = performance.now()
    const run = siva('inspect', tinyGpt2, '--layers', '^(.*.*)*X$', '--quiet')
    expect(run.signal, run.stderr).toBeNull()
    expect(run.status).toBe(1)
    expect(run.stderr).toContain("no 2-D weight matrix matches --layers '^(.*.*)*X$'")
    expect(performance.now() - started).toBeLessThan(30_000)
  })

  it('siva train --targets with a backreference is refused before anything runs', () => {
    const run = siva('train', '--model', tinyGpt2, '--data', join(repoRoot, 'tests/fixtures/data/train.csv'), '--task', 'classify', '--out', join(repoRoot, 'tests/.tmp/never-written'), '--targets', '(attn)\\1')
    expect(run.status).toBe(2)
    expect(run.stderr).toContain('--targets: the pattern /(attn)\\1/ cannot be matched in bounded time')
  })
})
