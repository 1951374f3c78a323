import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { longestFirstLengths, type TextTokenizer } from '../../../src/main/engine/data/tokenizer'
import { repoRoot, tempDir } from '../../helpers/paths'
import { realSentences } from '../../helpers/text'
import { encodeOn, engines, loadOn } from './engines'
import { runReference, type ReferenceInput } from './reference'

// bert-base-uncased's own vocabulary in the files Hugging Face saves (see the fixture's README.md).
const fixture = join(repoRoot, 'tests', 'fixtures', 'tokenizers', 'bert-base-uncased')
const vocabFile = join(fixture, 'vocab.txt')

/** Inputs where BERT's normalisation and splitting have something to do. */
const hardCases = [
  'Café naïve — déjà vu 🎉🚀',
  'Über façade résumé coöperate',
  '北京欢迎你 and 東京タワー',
  'Extension B: 𠀀𠀁 next to text𠀂here',
  '한국어 텍스트',
  'Emoji 👍🏽 family 👨‍👩‍👧 flag 🇫🇷',
  'Punctuation runs!!!??? ...--- (([[{{}}]])) «quoted» “smart” ¿qué? ¡sí!',
  "Don't stop—won't stop; it's 3.14159, or 1,000,000.",
  'a'.repeat(101),
  `${'b'.repeat(100)} fits`,
  `${'supercalifragilistic'.repeat(5)}x`,
  'Control\u0007 chars\u0000 here\ufffd soft\u00adhyphen zero\u200bwidth',
  'tabs\tand\nnewlines\r\nand   spaces\u00a0nbsp\u2028line',
  'ΟΔΟΣ ΣΟΦΙΑ Σ',
  'İstanbul STRASSE Straße ﬁne',
  'unassigned\u0378code point',
  'The [MASK] sat on the [SEP] mat [CLS]',
  '',
  '   ',
  'x'
]

describe.each(engines)('BERT WordPiece (bert-base-uncased), %s engine: ids equal the python reference', (engine) => {
  let tokenizer: TextTokenizer
  beforeAll(async () => {
    tokenizer = await loadOn(engine, fixture)
  })

  it('reads the vocabulary, its special tokens and model_max_length', async () => {
    expect(tokenizer.vocabularySize).toBe(30522)
    expect([tokenizer.padId, tokenizer.unkId, tokenizer.clsId, tokenizer.sepId, tokenizer.maskId]).toEqual([0, 100, 101, 102, 103])
    expect(tokenizer.bosId).toBeUndefined()
    expect(tokenizer.eosId).toBeUndefined()
    expect(tokenizer.modelMaxLength).toBe(512)
    expect(tokenizer.padLeft).toBe(false)
  })

  it('on 400 real sentences and the hard cases', async () => {
    const sentences = [...realSentences(400), ...hardCases]
    expect(sentences.length).toBeGreaterThan(300)
    const expected = runReference('wordpiece_reference.py', [vocabFile], sentences)
    for (const [i, s] of sentences.entries()) {
      const encoded = await encodeOn(tokenizer, s)
      expect(encoded.ids, JSON.stringify(s)).toEqual(expected[i]!.ids)
      expect(encoded.tokenTypeIds, JSON.stringify(s)).toEqual(expected[i]!.type_ids)
      expect(encoded.attentionMask).toEqual(expected[i]!.ids.map(() => 1))
    }
  })

  it('known ids: [CLS] hello , world ! [SEP], accents stripped, an over-long word is [UNK]', async () => {
    expect((await encodeOn(tokenizer, 'Hello, world!')).ids).toEqual([101, 7592, 1010, 2088, 999, 102])
    expect((await encodeOn(tokenizer, 'I like strawberries')).ids).toEqual([101, 1045, 2066, 13137, 20968, 102])
    expect((await encodeOn(tokenizer, 'CAFÉ')).ids).toEqual((await encodeOn(tokenizer, 'cafe')).ids)
    expect((await encodeOn(tokenizer, 'a'.repeat(101))).ids).toEqual([101, 100, 102])
  })

  it('sentence pairs: [CLS] A [SEP] B [SEP] with segment ids 0 then 1', async () => {
    const real = realSentences(40)
    const pairs: [string, string][] = [['How old are you?', "I'm 6 years old."], ['Café naïve', '北京 🎉'], ['', 'only the second'], ...real.slice(0, 20).map((s, i): [string, string] => [s, real[20 + i]!])]
    const expected = runReference('wordpiece_reference.py', [vocabFile], pairs)
    for (const [i, [a, b]] of pairs.entries()) {
      const encoded = await encodeOn(tokenizer, a, { pair: b })
      expect(encoded.ids, `${a} | ${b}`).toEqual(expected[i]!.ids)
      expect(encoded.tokenTypeIds, `${a} | ${b}`).toEqual(expected[i]!.type_ids)
    }
    const short = await encodeOn(tokenizer, 'one two', { pair: 'three' })
    expect(short.tokenTypeIds).toEqual([0, 0, 0, 0, 1, 1])
  })

  it('pads with [PAD] = 0, masks the padding, and gives padding segment id 0', async () => {
    const encoded = await encodeOn(tokenizer, 'one two', { pair: 'three', maxLength: 10, padToMaxLength: true })
    expect(encoded.ids).toEqual([101, 2028, 2048, 102, 2093, 102, 0, 0, 0, 0])
    expect(encoded.attentionMask).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0, 0])
    expect(encoded.tokenTypeIds).toEqual([0, 0, 0, 0, 1, 1, 0, 0, 0, 0])
    expect(encoded.truncated).toBe(false)
  })

  it('truncates a single sentence inside [CLS] … [SEP]', async () => {
    const text = 'one two three four five six seven eight'
    const full = runReference('wordpiece_reference.py', [vocabFile], [text])[0]!.ids
    const encoded = await encodeOn(tokenizer, text, { maxLength: 5 })
    expect(encoded.ids).toEqual([...full.slice(0, 4), 102])
    expect(encoded.fullLength).toBe(full.length)
    expect(encoded.truncated).toBe(true)
  })

  it("truncates pairs 'longest_first' the way Hugging Face tokenizers does", async () => {
    const words = (n: number): string => ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight'].slice(0, n).join(' ')
    const ids = (n: number): number[] => [2028, 2048, 2093, 2176, 2274, 2416, 2698, 2809].slice(0, n)
    // [first, second] lengths → kept with 7 tokens left once [CLS] [SEP] [SEP] are counted (maxLength 10).
    const cases: [number, number, number, number][] = [
      [2, 8, 2, 5],
      [8, 2, 5, 2],
      [4, 4, 3, 4],
      [4, 8, 3, 4],
      [8, 4, 4, 3],
      [8, 8, 3, 4],
      [3, 4, 3, 4]
    ]
    for (const [n1, n2, keep1, keep2] of cases) {
      const encoded = await encodeOn(tokenizer, words(n1), { pair: words(n2), maxLength: 10 })
      expect(encoded.ids, `${n1} + ${n2}`).toEqual([101, ...ids(keep1), 102, ...ids(keep2), 102])
      expect(encoded.tokenTypeIds).toEqual([...new Array<number>(keep1 + 2).fill(0), ...new Array<number>(keep2 + 1).fill(1)])
      expect(encoded.fullLength).toBe(n1 + n2 + 3)
    }
  })

  it('decodes back to the normalised text, dropping the special tokens', async () => {
    expect(tokenizer.decode((await encodeOn(tokenizer, 'Hello, World! Strawberries are great.')).ids)).toBe('hello, world! strawberries are great.')
    expect(tokenizer.decode((await encodeOn(tokenizer, 'Hi')).ids, false)).toBe('[CLS] hi [SEP]')
  })
})

describe("longest_first lengths: Hugging Face tokenizers' own table (max_length 7)", () => {
  it('matches every case of truncate_encodings_longest_first', async () => {
    // [first, second, kept first, kept second], from tokenizers/src/utils/truncation.rs's unit test.
    const table: [number, number, number, number][] = [
      [0, 0, 0, 0], [0, 2, 0, 2], [0, 4, 0, 4], [0, 8, 0, 7],
      [2, 0, 2, 0], [2, 2, 2, 2], [2, 4, 2, 4], [2, 8, 2, 5],
      [4, 0, 4, 0], [4, 2, 4, 2], [4, 4, 3, 4], [4, 8, 3, 4],
      [8, 0, 7, 0], [8, 2, 5, 2], [8, 4, 4, 3], [8, 8, 3, 4]
    ]
    for (const [n1, n2, k1, k2] of table) expect(longestFirstLengths(n1, n2, 7), `${n1}, ${n2}`).toEqual([k1, k2])
  })
})

describe.each(engines)('tokenizer_config.json overrides the normaliser as transformers does, %s engine', (engine) => {
  it('do_lower_case: false keeps case and accents (the reference run cased)', async () => {
    const dir = tempDir('bert-cased-config')
    cpSync(fixture, dir, { recursive: true })
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, do_lower_case: false }))
    const tokenizer = await loadOn(engine, dir)
    const sentences: ReferenceInput[] = [...realSentences(60), ...hardCases]
    const expected = runReference('wordpiece_reference.py', [vocabFile, '--cased'], sentences)
    for (const [i, s] of sentences.entries()) expect((await encodeOn(tokenizer, s as string)).ids, JSON.stringify(s)).toEqual(expected[i]!.ids)
    expect((await encodeOn(tokenizer, 'Hello')).ids).toEqual([101, 100, 102])
  })

  it('model_max_length and padding_side come from the config', async () => {
    const dir = tempDir('bert-config-lengths')
    cpSync(fixture, dir, { recursive: true })
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, model_max_length: 128, padding_side: 'left' }))
    const tokenizer = await loadOn(engine, dir)
    expect(tokenizer.modelMaxLength).toBe(128)
    expect((await encodeOn(tokenizer, 'one', { maxLength: 5, padToMaxLength: true })).ids).toEqual([0, 0, 101, 2028, 102])
  })
})
