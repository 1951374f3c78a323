import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  DataNotUsableError,
  EncodedDataset,
  encodeTextDataset,
  epochOrder,
  labelNames,
  loadLabelMap,
  prepareTextData,
  reopenPreparedText,
  saveLabelMap,
  TextTokenizer,
  type DataProblem,
  type TextBatch
} from '../../../src/main/engine/data'
import { gpt2EndOfText as eot, gpt3Encoder, writeGpt2Tokenizer } from '../../helpers/gpt2Tokenizer'
import { tempDir } from '../../helpers/paths'

let tokenizer: TextTokenizer
let dir: string
beforeAll(async () => {
  dir = tempDir('encoded')
  writeGpt2Tokenizer(dir)
  tokenizer = await TextTokenizer.load(dir)
})

function write(name: string, text: string): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

async function allBatches(prefix: string, order: number[], batchSize: number, padTo?: 'max'): Promise<{ dataset: EncodedDataset; batches: TextBatch[] }> {
  const dataset = await EncodedDataset.open(prefix)
  const batches: TextBatch[] = []
  for await (const batch of dataset.batches(order, { batchSize, ...(padTo && { padTo }) })) batches.push(batch)
  return { dataset, batches }
}

/** Row b of a [size, length] array. */
const rowOf = (values: Int32Array | Float32Array, b: number, length: number): number[] => [...values.subarray(b * length, (b + 1) * length)]

describe('encoded text datasets (ids checked against gpt-3-encoder)', () => {
  it('classification with sentence pairs: ids, padding, masks, segments and label ids', async () => {
    const file = write(
      'pairs.csv',
      'sentence1,sentence2,label\n"A man sleeps on the sofa.",A person rests.,entailment\nThe cat is black.,"The cat, it is white.",contradiction\nHi,there,entailment\n'
    )
    const names = labelNames(['entailment', 'contradiction'])
    expect(names).toEqual(['contradiction', 'entailment'])
    const meta = await encodeTextDataset(file, join(dir, 'pairs'), { task: 'classification', tokenizer, maxLength: 64, labels: names })
    expect(meta).toMatchObject({ examples: 3, truncated: 0, skipped: 0, padId: eot, labels: names })

    const { dataset, batches } = await allBatches(join(dir, 'pairs'), [2, 0, 1], 2)
    expect(batches.map((b) => [b.size, b.length])).toEqual([
      [2, 11],
      [1, 12]
    ])
    const [first, second] = batches as [TextBatch, TextBatch]
    const a = gpt3Encoder.encode('A man sleeps on the sofa.')
    const b = gpt3Encoder.encode('A person rests.')
    const hi = [...gpt3Encoder.encode('Hi'), ...gpt3Encoder.encode('there')]
    expect(rowOf(first.inputIds, 0, 11)).toEqual([...hi, ...new Array<number>(11 - hi.length).fill(eot)])
    expect(rowOf(first.attentionMask, 0, 11)).toEqual([...hi.map(() => 1), ...new Array<number>(11 - hi.length).fill(0)])
    expect(rowOf(first.inputIds, 1, 11)).toEqual([...a, ...b])
    expect(rowOf(first.tokenTypeIds, 1, 11)).toEqual([...a.map(() => 0), ...b.map(() => 1)])
    expect([...first.labels]).toEqual([1, 1])
    expect([...first.rows]).toEqual([4, 2])
    expect([...second.labels]).toEqual([0])
    expect(await dataset.labels()).toEqual(Float64Array.from([1, 0, 1]))
    await dataset.close()
  })

  it('truncates to max length, pads to it on request, and counts the truncated rows', async () => {
    const text = 'The quick brown fox jumps over the lazy dog, again and again and again.'
    const file = write('long.jsonl', `${JSON.stringify({ text, label: 1 })}\n${JSON.stringify({ text: 'Short.', label: 0 })}\n`)
    const meta = await encodeTextDataset(file, join(dir, 'long'), { task: 'classification', tokenizer, maxLength: 8, labels: ['0', '1'] })
    expect(meta.truncated).toBe(1)
    const { dataset, batches } = await allBatches(join(dir, 'long'), [0, 1], 4, 'max')
    expect(batches[0]!.length).toBe(8)
    expect(rowOf(batches[0]!.inputIds, 0, 8)).toEqual(gpt3Encoder.encode(text).slice(0, 8))
    const short = gpt3Encoder.encode('Short.')
    expect(rowOf(batches[0]!.inputIds, 1, 8)).toEqual([...short, ...new Array<number>(8 - short.length).fill(eot)])
    await dataset.close()
  })

  it('regression keeps float targets', async () => {
    const file = write('sts.tsv', 'sentence1\tsentence2\tlabel\nA plane takes off.\tAn air plane is taking off.\t5.0\nA man plays a flute.\tA man is eating.\t0.25\n')
    await encodeTextDataset(file, join(dir, 'sts'), { task: 'regression', tokenizer, maxLength: 32 })
    const { dataset, batches } = await allBatches(join(dir, 'sts'), [0, 1], 2)
    expect(batches[0]!.labels).toBeInstanceOf(Float32Array)
    expect([...batches[0]!.labels]).toEqual([5, 0.25])
    await dataset.close()
  })

  it('causal LM with prompt and completion: loss only on the completion and end-of-text', async () => {
    const rows = [
      { prompt: 'name[The Eagle], food[French]', completion: ' The Eagle serves French food.' },
      { prompt: 'name[Cotto]', completion: ' Cotto is a coffee shop.' }
    ]
    const file = write('e2e.jsonl', rows.map((r) => JSON.stringify(r)).join('\n'))
    const meta = await encodeTextDataset(file, join(dir, 'e2e'), { task: 'causal-lm', tokenizer, maxLength: 64 })
    expect(meta.examples).toBe(2)
    const { dataset, batches } = await allBatches(join(dir, 'e2e'), [0, 1], 2)
    const batch = batches[0]!
    rows.forEach((r, i) => {
      const prompt = gpt3Encoder.encode(r.prompt)
      const completion = [...gpt3Encoder.encode(r.completion), eot]
      const ids = [...prompt, ...completion]
      const pad = batch.length - ids.length
      expect(rowOf(batch.inputIds, i, batch.length)).toEqual([...ids, ...new Array<number>(pad).fill(eot)])
      expect(rowOf(batch.labels, i, batch.length)).toEqual([...prompt.map(() => -100), ...completion, ...new Array<number>(pad).fill(-100)])
      expect(rowOf(batch.attentionMask, i, batch.length)).toEqual([...ids.map(() => 1), ...new Array<number>(pad).fill(0)])
    })
    await dataset.close()
  })

  it('causal LM plain text packed into full blocks, end-of-text between texts', async () => {
    const lines = ['It was a bright cold day in April.', 'The clocks were striking thirteen.', 'Winston Smith slipped quickly through the doors.']
    const file = write('novel.txt', `${lines.join('\n')}\n`)
    const stream = lines.flatMap((line) => [...gpt3Encoder.encode(line), eot])
    const block = 8
    const problems: DataProblem[] = []
    const meta = await encodeTextDataset(file, join(dir, 'novel'), { task: 'causal-lm', tokenizer, maxLength: block, pack: true, onProblem: (p) => problems.push(p) })
    const blocks = Math.floor(stream.length / block)
    expect(meta).toMatchObject({ examples: blocks, tokens: blocks * block, packed: true })
    expect(problems.map((p) => p.code)).toEqual(stream.length % block === 0 ? [] : ['text-too-long'])
    const { dataset, batches } = await allBatches(join(dir, 'novel'), Array.from({ length: blocks }, (_, i) => i), blocks)
    expect([...batches[0]!.inputIds]).toEqual(stream.slice(0, blocks * block))
    expect([...batches[0]!.labels]).toEqual(stream.slice(0, blocks * block))
    // Each block is attributed to the line its first token comes from.
    const lineOfToken = lines.flatMap((line, i) => new Array<number>(gpt3Encoder.encode(line).length + 1).fill(i + 1))
    expect([...batches[0]!.rows]).toEqual(Array.from({ length: blocks }, (_, i) => lineOfToken[i * block]))
    await dataset.close()
  })

  it('leaves out rows whose label training never saw, and says so with the row', async () => {
    const file = write('dev.csv', 'text,label\ngood film,pos\nawful,neg\nmeh,neutral\n')
    const problems: DataProblem[] = []
    const meta = await encodeTextDataset(file, join(dir, 'dev'), { task: 'classification', tokenizer, maxLength: 16, labels: ['neg', 'pos'], onProblem: (p) => problems.push(p) })
    expect(meta).toMatchObject({ examples: 2, skipped: 1 })
    expect(problems).toContainEqual(expect.objectContaining({ code: 'label-unseen', row: 4 }))
  })

  it('epoch orders visit every example once, differently per epoch', async () => {
    const file = write('many.csv', `text,label\n${Array.from({ length: 50 }, (_, i) => `row number ${i},${i % 2}`).join('\n')}\n`)
    await encodeTextDataset(file, join(dir, 'many'), { task: 'classification', tokenizer, maxLength: 16, labels: ['0', '1'] })
    const seen: number[][] = []
    for (const epoch of [0, 1]) {
      const { dataset, batches } = await allBatches(join(dir, 'many'), [...epochOrder(50, 7, epoch)], 16)
      seen.push(batches.flatMap((b) => [...b.rows]))
      await dataset.close()
    }
    expect([...seen[0]!].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2))
    expect(seen[0]).not.toEqual(seen[1])
  })

  it('an aborted encode leaves no files behind, and a cut-short dataset is refused', async () => {
    const file = write('abort.csv', `text,label\n${Array.from({ length: 2000 }, (_, i) => `text ${i},a`).join('\n')}\n`)
    const sub = tempDir('encode-abort')
    const controller = new AbortController()
    const run = encodeTextDataset(file, join(sub, 'abort'), { task: 'classification', tokenizer, maxLength: 8, labels: ['a'], signal: controller.signal, onProgress: () => controller.abort() })
    await expect(run).rejects.toThrow()
    expect(readdirSync(sub)).toEqual([])

    await encodeTextDataset(file, join(sub, 'whole'), { task: 'classification', tokenizer, maxLength: 8, labels: ['a'] })
    writeFileSync(join(sub, 'whole.ids'), Buffer.alloc(12))
    await expect(EncodedDataset.open(join(sub, 'whole'))).rejects.toThrow(/does not match whole\.json/)
    expect(existsSync(join(sub, 'whole.json'))).toBe(true)
  })
})

describe('label maps', () => {
  it('orders integer labels numerically and others by code point', () => {
    expect(labelNames(['10', '2', '0', '2'])).toEqual(['0', '2', '10'])
    expect(labelNames(['b', 'B', 'a'])).toEqual(['B', 'a', 'b'])
  })

  it('round-trips through the file transformers reads, and refuses a bad one with its name', async () => {
    const sub = tempDir('labels')
    const file = join(sub, 'labels.json')
    await saveLabelMap(file, ['neg', 'pos'])
    expect(JSON.parse((await import('node:fs')).readFileSync(file, 'utf8'))).toEqual({ id2label: { 0: 'neg', 1: 'pos' }, label2id: { neg: 0, pos: 1 } })
    expect(await loadLabelMap(file)).toEqual(['neg', 'pos'])
    writeFileSync(file, JSON.stringify({ id2label: { 0: 'neg', 2: 'pos' } }))
    await expect(loadLabelMap(file)).rejects.toThrow(/labels\.json: "id2label" must map the ids 0…1/)
  })
})

describe('prepareTextData', () => {
  it('checks, numbers the labels, encodes once and splits stratified, all saved in the run folder', async () => {
    const run = tempDir('prepare')
    const rows = Array.from({ length: 40 }, (_, i) => `review number ${i} of ${i % 4 === 0 ? 'a rare kind' : 'the usual kind'},${i % 4 === 0 ? 'rare' : 'usual'}`)
    const file = write('prepare.csv', `text,label\n${rows.join('\n')}\n`)
    const prepared = await prepareTextData(file, run, { task: 'classification', tokenizer, maxLength: 32, validationFraction: 0.25, seed: 3 })
    expect(prepared.labels).toEqual(['rare', 'usual'])
    expect(JSON.parse(readFileSync(join(run, 'labels.json'), 'utf8'))).toEqual({ id2label: { 0: 'rare', 1: 'usual' }, label2id: { rare: 0, usual: 1 } })
    expect(prepared.train.indices.length + prepared.validation.indices.length).toBe(40)
    const dataset = await EncodedDataset.open(prepared.train.prefix)
    const labels = await dataset.labels()
    await dataset.close()
    const count = (indices: Uint32Array, id: number): number => [...indices].filter((i) => labels[i] === id).length
    expect([count(prepared.validation.indices, 0), count(prepared.validation.indices, 1)]).toEqual([Math.round(0.25 * 10), Math.round(0.25 * 30)])
    const again = await prepareTextData(file, tempDir('prepare-again'), { task: 'classification', tokenizer, maxLength: 32, validationFraction: 0.25, seed: 3 })
    expect(again.validation.indices).toEqual(prepared.validation.indices)
    expect(JSON.parse(readFileSync(join(run, 'split.json'), 'utf8'))).toMatchObject({ seed: 3, validation: { indices: [...prepared.validation.indices] } })
  })

  it('a prepared folder reopens to the same split and labels without reading the source', async () => {
    const run = tempDir('prepare-reopen')
    const file = write('reopen.csv', `text,label\n${Array.from({ length: 30 }, (_, i) => `row ${i},${i % 3 === 0 ? 'a' : 'b'}`).join('\n')}\n`)
    const prepared = await prepareTextData(file, run, { task: 'classification', tokenizer, maxLength: 16, validationFraction: 0.2, seed: 4 })
    const reopened = await reopenPreparedText(run)
    expect(reopened!.labels).toEqual(prepared.labels)
    expect(reopened!.train.indices).toEqual(prepared.train.indices)
    expect(reopened!.validation.indices).toEqual(prepared.validation.indices)
    expect(await reopenPreparedText(tempDir('prepare-nothing'))).toBeUndefined()
  })

  it('refuses unusable data with every problem in the error', async () => {
    const file = write('broken.csv', 'text,label\ngood,pos\n,neg\nfine,\n')
    const error = await prepareTextData(file, tempDir('prepare-broken'), { task: 'classification', tokenizer, maxLength: 32 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DataNotUsableError)
    expect((error as DataNotUsableError).report.problems.filter((p) => p.severity === 'error').map((p) => [p.code, p.row])).toEqual([
      ['text-empty', 3],
      ['label-missing', 4]
    ])
  })
})
