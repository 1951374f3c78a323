import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { encodeTextDataset, tokenizerEncoder, type EncodeDatasetOptions, type EncodedDatasetMeta } from '../../../src/main/engine/data/encodedDataset'
import { TextTokenizer } from '../../../src/main/engine/data/tokenizer'
import type { DataProblem } from '../../../src/main/engine/data/problems'
import { workerParallelEncoding } from '../../../src/main/workers/encodePool'
import { gpt3Encoder, writeGpt2Tokenizer } from '../../helpers/gpt2Tokenizer'
import { hfFixture } from '../../helpers/hfref'
import { tempDir } from '../../helpers/paths'
import { realSentences } from '../../helpers/text'

/**
 * encodeTextDataset on real worker threads (src/main/workers/encodePool.ts) against the calling thread on
 * the JS engine: the same .ids and .index bytes, rows in the same order, whichever engine the workers run.
 * The single-thread ids themselves are held to gpt-3-encoder and transformers by the tokenizer suites (and
 * spot-checked here).
 */

let dir: string
let gpt2: string
let js: TextTokenizer
let native: TextTokenizer
const sentences = realSentences(400)
// Two workers, used whatever the file's size (the default threshold is megabytes).
const parallel = workerParallelEncoding({ workers: 2, minBytes: 0 })

beforeAll(async () => {
  dir = tempDir('encode-pool')
  gpt2 = tempDir('encode-pool-gpt2')
  writeGpt2Tokenizer(gpt2)
  js = await TextTokenizer.load(gpt2, { engine: 'js' })
  native = await TextTokenizer.load(gpt2)
})

function write(name: string, text: string): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

/** The file encoded in this thread on the JS engine, and in two workers on each of `engines`. */
async function encodeBoth(file: string, name: string, options: Omit<EncodeDatasetOptions, 'tokenizer'>, engines: readonly ('js' | 'native')[] = ['js', 'native']): Promise<{ single: EncodedDatasetMeta; pooled: EncodedDatasetMeta[]; same: (prefix: string) => void }> {
  const single = await encodeTextDataset(file, join(dir, `${name}-single`), { ...options, tokenizer: js, encoder: tokenizerEncoder(js) })
  const pooled: EncodedDatasetMeta[] = []
  for (const engine of engines) {
    const tokenizer = engine === 'js' ? js : native
    pooled.push(await encodeTextDataset(file, join(dir, `${name}-${engine}`), { ...options, tokenizer, parallel }))
  }
  return {
    single,
    pooled,
    same: () => {
      for (const engine of engines) {
        for (const ext of ['ids', 'index']) {
          expect(readFileSync(join(dir, `${name}-${engine}.${ext}`)).equals(readFileSync(join(dir, `${name}-single.${ext}`))), `${name} ${engine} .${ext}`).toBe(true)
        }
      }
    }
  }
}

describe('encoding in worker threads gives the single-thread dataset, byte for byte', () => {
  it('classification, 3000 rows of real text (some far over max_length), in chunks across two workers', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => {
      const text = i % 97 === 5 ? sentences.join(' ') : `${sentences[i % sentences.length]} ${i}`
      return JSON.stringify({ text, label: i % 3 === 0 ? 'pos' : 'neg' })
    })
    const file = write('classify.jsonl', `${rows.join('\n')}\n`)
    const { single, pooled, same } = await encodeBoth(file, 'classify', { task: 'classification', maxLength: 64, labels: ['neg', 'pos'] })
    same('classify')
    expect(single).toMatchObject({ examples: 3000, encoding: { engine: 'js', workers: 0 } })
    expect(single.truncated).toBeGreaterThan(30)
    expect(pooled[0]).toMatchObject({ examples: 3000, truncated: single.truncated, encoding: { engine: 'js', workers: 2 } })
    expect(pooled[1]).toMatchObject({ examples: 3000, truncated: single.truncated, encoding: { engine: native.engine, workers: 2 } })
    // Spot check against the independent BPE: the first row's ids.
    const ids = new Int32Array(readFileSync(join(dir, 'classify-native.ids')).buffer.slice(0, 4 * 64))
    const first = gpt3Encoder.encode(`${sentences[0]} 0`)
    expect([...ids.slice(0, first.length)]).toEqual(first)
  })

  it('sentence pairs on BERT, causal LM with prompts, and packed causal LM', async () => {
    const bertJs = await TextTokenizer.load(hfFixture('bert-cls'), { engine: 'js' })
    const pairs = write('pairs.csv', `sentence1,sentence2,label\n${sentences.slice(0, 300).map((s, i) => `"${s.replaceAll('"', '""')}","${sentences[(i * 7) % 300]!.replaceAll('"', '""')}",${i % 2}`).join('\n')}\n`)
    const single = await encodeTextDataset(pairs, join(dir, 'pairs-single'), { task: 'classification', tokenizer: bertJs, encoder: tokenizerEncoder(bertJs), maxLength: 48, labels: ['0', '1'] })
    const bert = await TextTokenizer.load(hfFixture('bert-cls'))
    const pooled = await encodeTextDataset(pairs, join(dir, 'pairs-native'), { task: 'classification', tokenizer: bert, parallel, maxLength: 48, labels: ['0', '1'] })
    expect(pooled.encoding?.workers).toBe(2)
    for (const ext of ['ids', 'index']) expect(readFileSync(join(dir, `pairs-native.${ext}`)).equals(readFileSync(join(dir, `pairs-single.${ext}`))), ext).toBe(true)
    expect(single.examples).toBe(300)

    const prompts = write('prompts.jsonl', `${sentences.slice(0, 500).map((s, i) => JSON.stringify({ prompt: `Q${i}: ${sentences[(i * 3) % 400]}`, completion: ` ${s}` })).join('\n')}\n`)
    // The JS engine in workers is covered above: the native one here.
    ;(await encodeBoth(prompts, 'prompts', { task: 'causal-lm', maxLength: 40 }, ['native'])).same('prompts')
    const text = write('plain.jsonl', `${sentences.map((s) => JSON.stringify({ text: s })).join('\n')}\n`)
    const packed = await encodeBoth(text, 'packed', { task: 'causal-lm', maxLength: 128, pack: true }, ['native'])
    packed.same('packed')
    expect(packed.single.packed).toBe(true)
  })
})

describe('errors and bad rows keep their row numbers through the workers', () => {
  it('a row with an unseen label is reported with its row; the rest encode as in one thread', async () => {
    const rows = sentences.map((s, i) => JSON.stringify({ text: s, label: i === 277 ? 'mystery' : i % 2 === 0 ? 'a' : 'b' }))
    const file = write('unseen.jsonl', `${rows.join('\n')}\n`)
    const problems: DataProblem[] = []
    const { pooled, same } = await encodeBoth(file, 'unseen', { task: 'classification', maxLength: 32, labels: ['a', 'b'], onProblem: (p) => problems.push(p) })
    same('unseen')
    expect(pooled.map((m) => m.skipped)).toEqual([1, 1])
    // Three runs (single, js pool, native pool), each reporting row 278 (rows count from 1, JSON Lines has no header).
    expect(problems.filter((p) => p.code === 'label-unseen').map((p) => p.row)).toEqual([278, 278, 278])
  })

  it('a text the tokenizer cannot tokenise fails the encode naming its file and row, in a worker as in this thread', async () => {
    // A Unigram file without unk_id cannot tokenise a character none of its pieces spells.
    const folder = join(dir, 'deberta-no-unk')
    cpSync(hfFixture('deberta-v2-cls'), folder, { recursive: true })
    const file = join(folder, 'tokenizer.json')
    const json = JSON.parse(readFileSync(file, 'utf8')) as { model: Record<string, unknown> }
    json.model['unk_id'] = null
    writeFileSync(file, JSON.stringify(json))
    const tokenizer = await TextTokenizer.load(folder)
    // Both engines refuse such a character, so the file runs natively: the error comes from the Rust library.
    expect(tokenizer.engine).toBe('native')
    // The fixture's vocabulary is small: the other rows keep only characters it has as pieces of their own.
    const spelled = new Set((json.model['vocab'] as [string, number][]).map(([piece]) => piece).filter((piece) => Array.from(piece).length === 1))
    const plain = sentences.map((s) => Array.from(s.toLowerCase(), (ch) => (spelled.has(ch) ? ch : ' ')).join(''))
    const rows = plain.map((s, i) => JSON.stringify({ text: i === 312 ? `${s} \u{10fffd}` : s, label: i % 2 }))
    const data = write('untokenisable.jsonl', `${rows.join('\n')}\n`)
    const options = { task: 'classification' as const, tokenizer, maxLength: 32, labels: ['0', '1'] }
    const inThread = await encodeTextDataset(data, join(dir, 'bad-single'), { ...options, encoder: tokenizerEncoder(tokenizer) }).then(() => new Error('encoded without an error'), (e: unknown) => e as Error)
    const pooled = await encodeTextDataset(data, join(dir, 'bad-pooled'), { ...options, parallel }).then(() => new Error('encoded without an error'), (e: unknown) => e as Error)
    expect(inThread).toBeInstanceOf(Error)
    expect(inThread.message).toMatch(/^untokenisable\.jsonl, row 313: the text cannot be tokenised: /)
    expect(pooled).toBeInstanceOf(Error)
    expect(pooled.message).toMatch(/^untokenisable\.jsonl, row 313: the text cannot be tokenised: /)
  })
})
