import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Tokenizer } from '@huggingface/tokenizers'
import { beforeAll, describe, expect, it } from 'vitest'
import { longestFirstLengths, TextTokenizer, TokenizerLoadError } from '../../../src/main/engine/data/tokenizer'
import { gpt2TokenizerWith, gpt3Encoder, writeGpt2Tokenizer } from '../../helpers/gpt2Tokenizer'
import { repoRoot, tempDir } from '../../helpers/paths'
import { realSentences } from '../../helpers/text'
import { encodeOn, engines, loadOn } from './engines'

// tokenizer.json is a file from the internet: its patterns must run bounded, its fields must make sense,
// and one huge row must not cost gigabytes.

type Json = Record<string, unknown>

const byteLevelNoRegex = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }
const split = (regex: string, behavior = 'Isolated') => ({ type: 'Split', pattern: { Regex: regex }, behavior, invert: false })

/** Llama-3's and Qwen2's pre-tokeniser patterns (lookahead, case-insensitive groups, counted repeats), BLOOM's, DeepSeek's end-of-text rule. */
const realPatterns: Record<string, Json> = {
  llama3: {
    type: 'Sequence',
    pretokenizers: [split("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"), byteLevelNoRegex]
  },
  qwen2: {
    type: 'Sequence',
    pretokenizers: [split("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"), byteLevelNoRegex]
  },
  bloom: { type: 'Sequence', pretokenizers: [split(' ?[^(\\s|[.,!?…。，、।۔،])]+'), byteLevelNoRegex] },
  anchored: { type: 'Sequence', pretokenizers: [split('\\s+$', 'Removed'), split('^\\w+\\b|\\d+'), byteLevelNoRegex] }
}

const hardCases = [
  'Café naïve — déjà vu 🎉🚀',
  '  leading   and trailing  ',
  "Numbers 1234567 and 3.14159, DON'T WON'T they'RE",
  'line one\r\nline two\n\n\n  indented\tTAB',
  '中文，标点。 हिन्दी। اردو۔',
  '',
  ' ',
  'a\u00a0b\u2028c\u3000d',
  'emoji 👍🏽 family 👨‍👩‍👧 and flags 🇫🇷'
]

describe.each(engines)('tokenizer.json patterns run bounded, with the same tokens as before, %s engine', (engine) => {
  for (const [name, preTokenizer] of Object.entries(realPatterns)) {
    // The native engine runs only patterns known from real checkpoints (fastTokenizer.ts): not this made-up one.
    if (engine === 'native' && name === 'anchored') continue
    it(`${name}: tokens and decoding equal the library's own RegExp on real text`, async () => {
      const dir = gpt2TokenizerWith(`pattern-${name}`, (json) => {
        json['pre_tokenizer'] = preTokenizer
        // A Replace normaliser and decoder with Regex patterns take the replace path.
        json['normalizer'] = { type: 'Replace', pattern: { Regex: ' {3,}' }, content: '  ' }
        // The ByteLevel decoder with all its fields, as real files write it (the Rust library requires them).
        json['decoder'] = { type: 'Sequence', decoders: [byteLevelNoRegex, { type: 'Replace', pattern: { Regex: '(o)(u)' }, content: '$2$1' }] }
      })
      const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as Json
      const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Json
      // The reference: the library as it was, running the patterns with the JS engine's backtracking RegExp.
      const reference = new Tokenizer(json, config)
      const ours = await loadOn(engine, dir)
      const texts = [...realSentences(300), ...hardCases]
      for (const text of texts) {
        const ids = reference.encode(text, { add_special_tokens: false }).ids
        expect((await encodeOn(ours, text, { addSpecialTokens: false })).ids, JSON.stringify(text)).toEqual(ids)
        if (ids.length > 0) expect(ours.decode(ids, false), JSON.stringify(text)).toBe(reference.decode(ids, { skip_special_tokens: false }))
      }
    })
  }

})

describe('tokenizer.json patterns the native engine could not bound stay on the JS engine', () => {
  it('(a|a)+$ and a made-up anchored pattern: auto falls back to JS naming the field, forcing native is refused at load', async () => {
    const exponential = gpt2TokenizerWith('native-exponential', (json) => {
      json['pre_tokenizer'] = { type: 'Sequence', pretokenizers: [split('(a|a)+$'), byteLevelNoRegex] }
    })
    const anchored = gpt2TokenizerWith('native-anchored', (json) => {
      json['pre_tokenizer'] = realPatterns['anchored']
    })
    for (const [dir, field] of [[exponential, 'pre_tokenizer.pretokenizers[0].pattern.Regex'], [anchored, 'pre_tokenizer.pretokenizers[0].pattern.Regex']] as const) {
      const reason = `tokenizer.json's ${field} is not a pattern the native engine is known to match in bounded time (the JS engine bounds every pattern)`
      const auto = await TextTokenizer.load(dir)
      expect(auto.engine).toBe('js')
      expect(auto.fallbackReason).toBe(reason)
      await expect(TextTokenizer.load(dir, { engine: 'native' })).rejects.toThrow(`${join(dir, 'tokenizer.json')}: the native tokenizer engine was asked for, but ${reason}`)
    }
    // The real checkpoints' patterns, and a repeated space in a Replace normaliser, do run natively.
    const llama = gpt2TokenizerWith('native-llama3', (json) => {
      json['pre_tokenizer'] = realPatterns['llama3']
      json['normalizer'] = { type: 'Replace', pattern: { Regex: ' {3,}' }, content: '  ' }
    })
    expect((await TextTokenizer.load(llama)).engine).toBe('native')
  })

  it('a Split pattern that backtracks exponentially, (a|a)+$, tokenises a long row in bounded time', async () => {
    const dir = gpt2TokenizerWith('pattern-exponential', (json) => {
      json['pre_tokenizer'] = { type: 'Sequence', pretokenizers: [split('(a|a)+$'), byteLevelNoRegex] }
    })
    const tokenizer = await TextTokenizer.load(dir)
    expect(tokenizer.engine).toBe('js')
    const text = `${'a'.repeat(5000)}!`
    const started = performance.now()
    const encoded = await encodeOn(tokenizer, text, { addSpecialTokens: false })
    expect(performance.now() - started).toBeLessThan(5000)
    // No match (the row does not end in a): one pre-token, byte-level BPE of the whole row.
    expect(encoded.ids).toEqual(gpt3Encoder.encode(text))
  })

  it('siva data check on that tokenizer answers instead of hanging', async () => {
    const dir = gpt2TokenizerWith('data-check-exponential', (json) => {
      json['pre_tokenizer'] = { type: 'Sequence', pretokenizers: [split('(a|a)+$'), byteLevelNoRegex] }
    })
    const data = join(dir, 'rows.csv')
    writeFileSync(data, `text,label\n${'a'.repeat(3000)}b,pos\n${'a'.repeat(3000)}c,neg\nfine,pos\nalso fine,neg\n`)
    const run = spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'data', 'check', '--data', data, '--task', 'classify', '--model', dir, '--max-length', '64', '--json', '--quiet'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000
    })
    expect(run.signal, run.stderr).toBeNull()
    const report = JSON.parse(run.stdout) as { summary: { tokens: { tooLong: number } } }
    expect(report.summary.tokens.tooLong).toBe(2)
  })

  it('a pattern with a backreference is refused at load, naming the file and the field', async () => {
    const dir = gpt2TokenizerWith('pattern-backreference', (json) => {
      json['pre_tokenizer'] = { type: 'Sequence', pretokenizers: [byteLevelNoRegex, split('(a+)\\1')] }
    })
    const error = await TextTokenizer.load(dir).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TokenizerLoadError)
    expect((error as Error).message).toBe(`${join(dir, 'tokenizer.json')}: pre_tokenizer.pretokenizers[1].pattern.Regex: the pattern /(a+)\\1/ cannot be matched in bounded time: backreferences (\\1, \\k<name>) cannot be matched in bounded time`)
  })

  it('a pattern that is too large is refused at load', async () => {
    const dir = gpt2TokenizerWith('pattern-huge', (json) => {
      json['normalizer'] = { type: 'Replace', pattern: { Regex: 'x'.repeat(20_000) }, content: '' }
    })
    await expect(TextTokenizer.load(dir)).rejects.toThrow(/tokenizer\.json: normalizer\.pattern\.Regex: the pattern is 20000 characters long; at most 10000 are accepted/)
  })
})

describe('tokenizer.json fields the library took on trust', () => {
  it('an unknown model type is refused, naming the file and model.type', async () => {
    const dir = gpt2TokenizerWith('model-type', (json) => {
      ;(json['model'] as Json)['type'] = 'WordSoup'
    })
    await expect(TextTokenizer.load(dir)).rejects.toThrow(`${join(dir, 'tokenizer.json')}: model.type: "WordSoup"; the tokenizer models this app runs are BPE, WordPiece, Unigram`)
  })

  it('a vocabulary id that is not a whole number is refused, naming the token', async () => {
    const dir = gpt2TokenizerWith('model-float-id', (json) => {
      ;((json['model'] as Json)['vocab'] as Json)['hello'] = 1.5
    })
    await expect(TextTokenizer.load(dir)).rejects.toThrow(`${join(dir, 'tokenizer.json')}: model.vocab["hello"]: the id 1.5 is not a whole number from 0 to 2^31−1`)
  })

  it('an added token with a fractional id is refused', async () => {
    const dir = gpt2TokenizerWith('added-float-id', (json) => {
      ;(json['added_tokens'] as Json[])[0]!['id'] = 50256.5
    })
    await expect(TextTokenizer.load(dir)).rejects.toThrow(`${join(dir, 'tokenizer.json')}: added_tokens[0].id: 50256.5 is not a whole number from 0 to 2^31−1`)
  })
})

let prefixDir: string | undefined
function prefixGpt2(): string {
  if (!prefixDir) writeGpt2Tokenizer((prefixDir = tempDir('prefix-gpt2')))
  return prefixDir
}

describe.each(engines)('only what max_length can use is tokenised, %s engine', (engine) => {
  let tokenizer: TextTokenizer
  beforeAll(async () => {
    tokenizer = await loadOn(engine, prefixGpt2())
  })

  it('long rows keep exactly the ids of tokenising them whole; rows that fit are untouched', async () => {
    const words = realSentences(150).join(' ')
    const texts = [words, words.replaceAll(' ', '   '), words.replaceAll(' ', ''), '🎉'.repeat(8000), `x${' '.repeat(50_000)}y`]
    for (const text of texts) {
      const whole = gpt3Encoder.encode(text)
      for (const maxLength of [1, 2, 7, 64, 513]) {
        const encoded = await encodeOn(tokenizer, text, { maxLength })
        expect(encoded.ids, `${maxLength} ${text.slice(0, 30)}`).toEqual(whole.slice(0, maxLength))
        expect(encoded.truncated).toBe(whole.length > maxLength)
        expect(encoded.fullLength > maxLength).toBe(whole.length > maxLength)
        if (!encoded.partial) expect(encoded.fullLength).toBe(whole.length)
      }
    }
    const sentence = 'A row well within the limit.'
    expect(await encodeOn(tokenizer, sentence, { maxLength: 64 })).toEqual({ ...(await encodeOn(tokenizer, sentence)), partial: false })
  })

  it('sentence pairs: longest-first truncation is unchanged when either side is cut', async () => {
    const long = realSentences(200).join(' ')
    const short = 'A short second sentence.'
    const pairs = [[long, short], [short, long], [long, long.slice(0, long.length - 500)], [long.slice(0, long.length - 500), long]] as const
    for (const [a, b] of pairs) {
      const [ta, tb] = [gpt3Encoder.encode(a), gpt3Encoder.encode(b)]
      expect((await encodeOn(tokenizer, a, { pair: b })).ids).toEqual([...ta, ...tb])
      for (const maxLength of [9, 10, 64, 65]) {
        const encoded = await encodeOn(tokenizer, a, { pair: b, maxLength })
        const keepFirst = encoded.tokenTypeIds.filter((t) => t === 0).length
        expect(encoded.ids).toEqual([...ta.slice(0, keepFirst), ...tb.slice(0, maxLength - keepFirst)])
        // The cut with every token known (longestFirstLengths is checked against tokenizers in bert.test.ts).
        expect(keepFirst, `${maxLength} ${a.length} ${b.length}`).toBe(longestFirstLengths(ta.length, tb.length, maxLength)[0])
      }
    }
  })

  it('one 10 MB row through encodeMany: only its start is tokenised, and it is still counted too long', async () => {
    const sentences = realSentences(200).join(' ')
    const huge = sentences.repeat(Math.ceil(10e6 / sentences.length)).slice(0, 10e6)
    const started = performance.now()
    const [encoded] = await tokenizer.encodeMany([{ text: huge, maxLength: 128 }])
    expect(performance.now() - started).toBeLessThan(10_000)
    expect(encoded!.ids).toEqual(gpt3Encoder.encode(huge.slice(0, 20_000)).slice(0, 128))
    expect(encoded!.partial).toBe(true)
    expect(encoded!.fullLength).toBeGreaterThan(128)
  })
})

describe('only what max_length can use is tokenised, in siva data check', () => {
  it('one 10 MB row, as siva data check reads it: bounded memory and time, still counted too long', async () => {
    const dir = tempDir('ten-megabytes')
    mkdirSync(dir, { recursive: true })
    const model = join(dir, 'model')
    mkdirSync(model)
    writeGpt2Tokenizer(model)
    const data = join(dir, 'rows.jsonl')
    const sentences = realSentences(200).join(' ')
    const huge = sentences.repeat(Math.ceil(10e6 / sentences.length)).slice(0, 10e6)
    writeFileSync(data, [JSON.stringify({ text: 'short row', label: 'a' }), JSON.stringify({ text: huge, label: 'b' }), JSON.stringify({ text: 'another', label: 'a' }), JSON.stringify({ text: 'and one more', label: 'b' })].join('\n'))
    const started = performance.now()
    // 256 MB of heap: tokenising the row whole ran out of it (about 1 GB resident without a limit, a minute).
    const run = spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'data', 'check', '--data', data, '--task', 'classify', '--model', model, '--max-length', '128', '--json', '--quiet'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 120_000,
      // The JSON preview carries only the start of the row's text (previewCharacters).
      maxBuffer: 1 << 20,
      env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=256' }
    })
    expect(run.status, run.stderr.slice(-2000)).toBe(0)
    const report = JSON.parse(run.stdout) as { summary: { tokens: { tooLong: number; max: number } }; problems: { code: string; message: string }[]; preview: { textLength?: number }[] }
    expect(report.summary.tokens.tooLong).toBe(1)
    expect(report.summary.tokens.max).toBeGreaterThan(128)
    // Only the part that max_length can use was tokenised: its count is a lower bound, and says so.
    expect(report.problems.find((p) => p.code === 'text-too-long')?.message).toMatch(/\(longest: row 2, at least \d+ tokens; only its start was tokenised\)/)
    expect(report.preview[1]?.textLength).toBe(10e6)
    expect(performance.now() - started).toBeLessThan(30_000)
  })
})
