import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { TextTokenizer, TokenizerLoadError } from '../../../src/main/engine/data/tokenizer'
import { tempDir, tinyGpt2 } from '../../helpers/paths'
import { gpt3Encoder, writeGpt2Tokenizer } from '../../helpers/gpt2Tokenizer'
import { realSentences } from '../../helpers/text'
import { encodeOn, engines, loadOn } from './engines'
import { runReference, type ReferenceInput } from './reference'

let gpt2Dir: string | undefined
/** GPT-2's files, written once for both engines. */
function gpt2Files(): string {
  if (!gpt2Dir) writeGpt2Tokenizer((gpt2Dir = tempDir('gpt2-tokenizer')))
  return gpt2Dir
}

describe.each(engines)('GPT-2 byte-level BPE, %s engine: ids equal an independent implementation', (engine) => {
  let tokenizer: TextTokenizer
  beforeAll(async () => {
    tokenizer = await loadOn(engine, gpt2Files())
  })

  it('on 400 real sentences, plus accents, emoji, digits and whitespace runs', async () => {
    const sentences = [...realSentences(400), 'Café naïve — déjà vu 🎉🚀', '  leading   and trailing  ', 'Numbers 1234567 and 3.14159', "don't won't they're"]
    expect(sentences.length).toBeGreaterThan(300)
    for (const s of sentences) expect((await encodeOn(tokenizer, s)).ids, s).toEqual(gpt3Encoder.encode(s))
  })

  it('pads with end-of-text (GPT-2 has no pad token) and masks the padding', async () => {
    expect([tokenizer.padId, tokenizer.bosId, tokenizer.eosId]).toEqual([50256, 50256, 50256])
    expect(tokenizer.clsId).toBeUndefined()
    const encoded = await encodeOn(tokenizer, 'Hello world', { maxLength: 5, padToMaxLength: true })
    expect(encoded.ids).toEqual([...gpt3Encoder.encode('Hello world'), 50256, 50256, 50256])
    expect(encoded.attentionMask).toEqual([1, 1, 0, 0, 0])
  })

  it('truncates to max_length and reports the full length', async () => {
    const text = 'The quick brown fox jumps over the lazy dog, again and again and again.'
    const full = gpt3Encoder.encode(text)
    const encoded = await encodeOn(tokenizer, text, { maxLength: 6 })
    expect(encoded.ids).toEqual(full.slice(0, 6))
    expect(encoded.truncated).toBe(true)
    expect(encoded.fullLength).toBe(full.length)
  })

  it('a sentence pair is cut longest-first', async () => {
    const [a, b] = ['one two three four five', 'alpha beta gamma delta epsilon zeta eta theta']
    const encoded = await encodeOn(tokenizer, a, { pair: b, maxLength: 8 })
    expect(encoded.ids).toEqual([...gpt3Encoder.encode(a).slice(0, 4), ...gpt3Encoder.encode(b).slice(0, 4)])
    expect(encoded.tokenTypeIds).toEqual([0, 0, 0, 0, 1, 1, 1, 1])
  })
})

describe.each(engines)('tokenizer files, %s engine', (engine) => {
  it('reads the real tiny-random-gpt2 tokenizer: ids equal the independent BPE on its own vocab.json and merges.txt', async () => {
    const tokenizer = await loadOn(engine, tinyGpt2)
    expect(tokenizer.vocabularySize).toBe(1000)
    expect(tokenizer.decode((await encodeOn(tokenizer, 'Hello world')).ids)).toBe('Hello world')
    // Its tokenizer says <|endoftext|> is id 0 (config.json's bos/eos ids say 98): HF's collators use the tokenizer's.
    expect([tokenizer.eosId, tokenizer.padId]).toEqual([0, 0])
    const inputs: ReferenceInput[] = [...realSentences(300), 'Café naïve — déjà vu 🎉', '  spaces   inside  ', 'end<|endoftext|>start', ['A first sentence.', 'And a second one.']]
    const reference = runReference('bpe_reference.py', [join(tinyGpt2, 'vocab.json'), join(tinyGpt2, 'merges.txt'), '--gpt2'], inputs)
    for (const [i, input] of inputs.entries()) {
      const encoded = typeof input === 'string' ? await encodeOn(tokenizer, input) : await encodeOn(tokenizer, input[0], { pair: input[1] })
      expect({ ids: encoded.ids, type_ids: encoded.tokenTypeIds }, JSON.stringify(input)).toEqual(reference[i])
    }
  })

  it('a checkpoint named by its weights file finds the tokenizer beside it (as siva inspect accepts a file)', async () => {
    const byFolder = await loadOn(engine, tinyGpt2)
    const byFile = await loadOn(engine, join(tinyGpt2, 'model.safetensors'))
    const text = 'The same ids, either way.'
    expect((await encodeOn(byFile, text)).ids).toEqual((await encodeOn(byFolder, text)).ids)
    expect(byFile.vocabularySize).toBe(1000)
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
