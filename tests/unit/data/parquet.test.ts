import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { parquetMetadata } from 'hyparquet'
import { beforeAll, describe, expect, it } from 'vitest'
import { parquetSplits, readRecords, readTextExamples, validateTextDataset, type DataProblem, type TextExample } from '../../../src/main/engine/data'
import { checkData } from '../../../src/main/services/dataCheck'
import type { DataCheckResult } from '../../../src/shared/api'
import { codecs, hubSentimentFolder, parquetBytes, writeParquet, type ColumnSpec, type Message } from '../../helpers/parquetFixtures'
import { tempDir } from '../../helpers/paths'
import { readAll } from './helpers'

let dir: string
beforeAll(() => {
  dir = tempDir('parquet')
})

// 23 rows in row groups of 5: five groups, the last one short, every kind of cell a Hub dataset has.
const count = 23
const texts = Array.from({ length: count }, (_, i) => (i % 6 === 3 ? null : `row ${i}: ${'é✓ '.repeat(i % 4)}text`))
const ints = Array.from({ length: count }, (_, i) => (i % 5 === 4 ? null : i * 1_000_003 - 7))
const floats = Array.from({ length: count }, (_, i) => (i % 7 === 2 ? null : i / 8 - 1.25))
const bools = Array.from({ length: count }, (_, i) => (i % 4 === 1 ? null : i % 3 === 0))
const messages = Array.from({ length: count }, (_, i): Message[] | null =>
  i % 9 === 8 ? null : Array.from({ length: i % 3 }, (_, j) => ({ role: j % 2 === 0 ? 'user' : 'assistant', content: `turn ${j} of row ${i}` }))
)
const columns: Record<string, ColumnSpec> = {
  text: { type: 'string', values: texts },
  count: { type: 'int64', values: ints },
  small: { type: 'int32', values: ints.map((v) => (v === null ? null : v % 1000)) },
  score: { type: 'float64', values: floats },
  flag: { type: 'bool', values: bools },
  messages: { type: 'messages', values: messages }
}

describe('Parquet records', () => {
  it.each(codecs)('reads back exactly what arrow-rs wrote with %s, across row-group boundaries', async (codec) => {
    const file = writeParquet(join(dir, `all-${codec}.parquet`), columns, { codec, rowGroupSize: 5 })
    const metadata = parquetMetadata(new Uint8Array(readFileSync(file)).buffer)
    expect(metadata.row_groups.map((g) => Number(g.num_rows))).toEqual([5, 5, 5, 5, 3])
    expect(metadata.row_groups[0]!.columns[0]!.meta_data!.codec).toBe(codec)

    const { records, problems, columns: seen } = await readAll(file)
    expect(problems).toEqual([])
    expect(seen).toEqual(['text', 'count', 'small', 'score', 'flag', 'messages'])
    expect(records.map((r) => r.row)).toEqual(Array.from({ length: count }, (_, i) => i + 1))
    for (const [i, record] of records.entries()) {
      expect({ ...record.fields }).toEqual({
        text: texts[i],
        count: ints[i],
        small: ints[i] === null ? null : ints[i]! % 1000,
        score: floats[i],
        flag: bools[i],
        messages: messages[i]
      })
    }
  })

  it('gives 64-bit integers past 2^53 as their exact digits, and struct cells as objects', async () => {
    const file = writeParquet(join(dir, 'wide.parquet'), { big: { type: 'int64', values: [2 ** 53 + 2, -(2 ** 40)] }, s: { type: 'struct', values: [{ a: 'x', b: 1 }, null] } })
    const { records } = await readAll(file)
    expect(records.map((r) => r.fields['big'])).toEqual(['9007199254740994', -(2 ** 40)])
    expect(records.map((r) => r.fields['s'])).toEqual([{ a: 'x', b: 1 }, null])
    expect(Object.getPrototypeOf(records[0]!.fields)).toBe(null)
  })

  it('refuses a text column that is a struct or a list, naming the column and row', async () => {
    const file = writeParquet(join(dir, 'struct-text.parquet'), {
      text: { type: 'string', values: ['fine', 'also fine'] },
      meta: { type: 'struct', values: [{ a: 'x', b: 1 }, { a: 'y', b: 2 }] },
      messages: { type: 'messages', values: [[{ role: 'user', content: 'hi' }], []] },
      label: { type: 'string', values: ['a', 'b'] }
    })
    for (const [column, found] of [['meta', 'an object'], ['messages', 'a list']] as const) {
      const report = await validateTextDataset(file, { columns: { text: column } })
      expect(report.usable).toBe(false)
      const errors = report.problems.filter((p) => p.severity === 'error')
      expect(errors.map((p) => [p.row, p.field, p.message])).toEqual([
        [1, column, `struct-text.parquet, row 1: "${column}" should be text, found ${found}`],
        [2, column, `struct-text.parquet, row 2: "${column}" should be text, found ${found}`]
      ])
    }
  })

  it('takes int, string and bool class labels and float regression targets', async () => {
    const file = writeParquet(join(dir, 'labels.parquet'), {
      sentence: { type: 'string', values: ['one', 'two', 'three', 'four', 'five'] },
      i: { type: 'int64', values: [0, 1, 1, 2, 0] },
      s: { type: 'string', values: ['neg', 'pos', 'pos', 'neg', 'pos'] },
      b: { type: 'bool', values: [true, false, true, true, null] },
      y: { type: 'float64', values: [0.5, -1.5, 2.25, 4, 1] }
    }, { rowGroupSize: 2 })
    const classes = async (label: string) => (await validateTextDataset(file, { columns: { text: 'sentence', label } })).summary.classes?.map((c) => [c.label, c.count])
    expect(await classes('i')).toEqual([['0', 2], ['1', 2], ['2', 1]])
    expect(await classes('s')).toEqual([['pos', 3], ['neg', 2]])
    const withBool = await validateTextDataset(file, { columns: { text: 'sentence', label: 'b' } })
    expect(withBool.summary.classes?.map((c) => [c.label, c.count])).toEqual([['true', 3], ['false', 1]])
    expect(withBool.problems.find((p) => p.code === 'label-missing')).toMatchObject({ row: 5, field: 'b', message: 'labels.parquet, row 5: no label in "b"' })

    const regression = await validateTextDataset(file, { task: 'regression', columns: { text: 'sentence', label: 'y' } })
    expect(regression.usable).toBe(true)
    expect(regression.summary.labels).toEqual({ min: -1.5, max: 4, mean: (0.5 - 1.5 + 2.25 + 4 + 1) / 5 })
  })

  it('names a missing column as it does for CSV', async () => {
    const file = writeParquet(join(dir, 'nolabel.parquet'), { text: { type: 'string', values: ['a', 'b'] }, target: { type: 'string', values: ['x', 'y'] } })
    const report = await validateTextDataset(file, { columns: { label: 'category' } })
    expect(report.usable).toBe(false)
    const missing = report.problems.find((p) => p.code === 'column-missing')
    expect(missing?.field).toBe('category')
    expect(missing?.message).toContain('nolabel.parquet')
    expect(missing?.message).toContain('"category"')
  })
})

describe('the same check for CSV, JSON Lines and Parquet', () => {
  // Rows with problems of every row-level kind, and file-level ones (a single-example class, duplicates).
  const rows: [string, string | null][] = [
    ['great film', 'pos'],
    ['dull film', 'neg'],
    ['', 'pos'],
    ['great film', 'pos'],
    ['fine acting', null],
    ['lovely score', 'pos'],
    ['bad sound', 'neg'],
    ['odd plot', 'meh'],
    ['good pacing', 'pos'],
    ['poor lines', 'neg']
  ]
  const csvQuote = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)

  it('finds the same rows, classes and problems (CSV rows are one more: its header is row 1)', async () => {
    const csv = join(dir, 'same.csv')
    writeFileSync(csv, `text,label\n${rows.map(([t, l]) => `${csvQuote(t)},${l ?? ''}`).join('\n')}\n`)
    const jsonl = join(dir, 'same.jsonl')
    writeFileSync(jsonl, `${rows.map(([text, label]) => JSON.stringify({ text, label })).join('\n')}\n`)
    const parquet = writeParquet(join(dir, 'same.parquet'), { text: { type: 'string', values: rows.map((r) => r[0]) }, label: { type: 'string', values: rows.map((r) => r[1]) } }, { rowGroupSize: 3 })

    const check = (path: string) => checkData({ path, task: 'classify' })
    const [fromCsv, fromJsonl, fromParquet] = await Promise.all([check(csv), check(jsonl), check(parquet)])
    // Independently: rows 3 (empty text) and 5 (no label) are unusable; 8 rows remain.
    expect(fromParquet.rows).toBe(8)
    expect(fromParquet.classes).toEqual([{ label: 'pos', count: 4 }, { label: 'neg', count: 3 }, { label: 'meh', count: 1 }])
    const shape = (result: DataCheckResult, name: string, shift: number) => ({
      rows: result.rows,
      usable: result.usable,
      classes: result.classes,
      columns: result.columns,
      problems: result.problems.map((p) => ({
        ...p,
        ...(p.row !== undefined && { row: p.row - shift }),
        message: p.message.replaceAll(name, 'FILE').replace(/\brows? (\d+)/g, (_, n: string) => `row ${Number(n) - shift}`).replace(/same as (\d+)/g, (_, n: string) => `same as ${Number(n) - shift}`)
      })),
      preview: result.preview.map((p) => ({ ...p, ...(p.row !== undefined && { row: p.row - shift }) }))
    })
    const expected = shape(fromParquet, 'same.parquet', 0)
    expect(shape(fromJsonl, 'same.jsonl', 0)).toEqual(expected)
    expect(shape(fromCsv, 'same.csv', 1)).toEqual(expected)
    expect(expected.problems.filter((p) => p.severity !== 'info').map((p) => [p.code, p.row])).toEqual([
      ['text-empty', 3],
      ['label-missing', 5],
      ['class-single-example', 8],
      ['duplicate-rows', 4]
    ])
  })
})

describe('damaged Parquet files', () => {
  const good = () => parquetBytes({ text: { type: 'string', values: Array.from({ length: 12 }, (_, i) => `text ${i}`) }, label: { type: 'string', values: Array.from({ length: 12 }, (_, i) => `l${i % 2}`) } }, { codec: 'UNCOMPRESSED', rowGroupSize: 4 })
  const problemsOf = async (name: string, bytes: Uint8Array) => {
    const file = join(dir, name)
    writeFileSync(file, bytes)
    return readAll(file)
  }

  it('a truncated file', async () => {
    const bytes = good()
    const { records, problems } = await problemsOf('cut.parquet', bytes.subarray(0, bytes.length - 40))
    expect(records).toEqual([])
    expect(problems.map((p) => [p.code, p.message])).toEqual([['file-unreadable', 'cut.parquet: the file is cut short: it starts as a Parquet file but does not end with the "PAR1" marker (truncated while being written or copied?)']])
  })

  it('a file that is not Parquet at all', async () => {
    const { problems } = await problemsOf('csv-really.parquet', new TextEncoder().encode('text,label\nhello there,pos\nbye now,neg\n'))
    expect(problems.map((p) => p.message)).toEqual(['csv-really.parquet: not a Parquet file: it neither starts nor ends with the "PAR1" marker'])
    const { problems: tiny } = await problemsOf('empty.parquet', new Uint8Array())
    expect(tiny[0]?.message).toBe('empty.parquet: not a Parquet file: 0 bytes, too short for one (empty or cut short)')
  })

  it('a damaged footer', async () => {
    const bytes = good()
    const footerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 8, true)
    const damaged = bytes.slice()
    damaged.fill(0xff, bytes.length - 8 - footerLength, bytes.length - 8)
    const { problems } = await problemsOf('footer.parquet', damaged)
    expect(problems).toHaveLength(1)
    expect(problems[0]!.message).toMatch(/^footer\.parquet: damaged footer \(file metadata\): /)
  })

  it('a damaged column chunk: names the row group, its rows and the column, and reads the other groups', async () => {
    const bytes = good()
    const metadata = parquetMetadata(bytes.slice().buffer)
    const chunk = metadata.row_groups[1]!.columns[1]!.meta_data!
    const start = Number(chunk.dictionary_page_offset ?? chunk.data_page_offset)
    const damaged = bytes.slice()
    // Overwrite the page header: its thrift no longer parses, or claims sizes the chunk does not have.
    damaged.fill(0xee, start, start + 12)
    const { records, problems } = await problemsOf('chunk.parquet', damaged)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatchObject({ code: 'file-unreadable', severity: 'error', row: 5, field: 'label' })
    expect(problems[0]!.message).toMatch(/^chunk\.parquet: cannot read row group 2 of 3 \(rows 5–8\), column "label": .+; its rows were skipped$/)
    expect(records.map((r) => r.row)).toEqual([1, 2, 3, 4, 9, 10, 11, 12])
    expect(records.map((r) => r.fields['text'])).toEqual(['text 0', 'text 1', 'text 2', 'text 3', 'text 8', 'text 9', 'text 10', 'text 11'])
  })

  it('a missing file', async () => {
    const { problems } = await readAll(join(dir, 'nowhere.parquet'))
    expect(problems.map((p) => p.code)).toEqual(['file-unreadable'])
    expect(problems[0]!.message).toMatch(/^nowhere\.parquet: /)
  })
})

describe('a Hub dataset folder', () => {
  it('finds the splits as push_to_hub and the Parquet conversion lay them out', async () => {
    const root = tempDir('parquet-layouts')
    const one = { text: { type: 'string', values: ['a'] }, label: { type: 'string', values: ['x'] } } satisfies Record<string, ColumnSpec>
    for (const path of ['pushed/data/train-00000-of-00011.parquet', 'pushed/data/train-00010-of-00011.parquet', 'pushed/data/train-00002-of-00011.parquet', 'pushed/data/test-00000-of-00001.parquet', 'pushed/data/validation-00000-of-00001.parquet']) writeParquet(join(root, path), one)
    for (const path of ['converted/default/train/0000.parquet', 'converted/default/train/0001.parquet', 'converted/default/validation/0000.parquet']) writeParquet(join(root, path), one)
    for (const path of ['plain/a.parquet', 'plain/b.parquet', 'plain/.cache/c.parquet']) writeParquet(join(root, path), one)
    for (const path of ['named/training.parquet', 'named/dev.parquet', 'named/extra.parquet']) writeParquet(join(root, path), one)

    const rel = (base: string, files: string[]) => files.map((f) => f.slice(join(root, base).length + 1))
    const pushed = await parquetSplits(join(root, 'pushed'))
    if (typeof pushed === 'string') throw new Error(pushed)
    expect(rel('pushed', pushed.train)).toEqual(['data/train-00000-of-00011.parquet', 'data/train-00002-of-00011.parquet', 'data/train-00010-of-00011.parquet'])
    expect(rel('pushed', pushed.validation)).toEqual(['data/validation-00000-of-00001.parquet'])
    expect(rel('pushed', pushed.test)).toEqual(['data/test-00000-of-00001.parquet'])
    const converted = await parquetSplits(join(root, 'converted'))
    if (typeof converted === 'string') throw new Error(converted)
    expect(rel('converted', converted.train)).toEqual(['default/train/0000.parquet', 'default/train/0001.parquet'])
    expect(rel('converted', converted.validation)).toEqual(['default/validation/0000.parquet'])
    const plain = await parquetSplits(join(root, 'plain'))
    if (typeof plain === 'string') throw new Error(plain)
    expect(rel('plain', plain.train)).toEqual(['a.parquet', 'b.parquet'])
    const named = await parquetSplits(join(root, 'named'))
    if (typeof named === 'string') throw new Error(named)
    expect([rel('named', named.train), rel('named', named.validation), rel('named', named.ignored)]).toEqual([['training.parquet'], ['dev.parquet'], ['extra.parquet']])
  })

  it('reads the train shards in order with rows numbered on, and the validation split on request', async () => {
    const folder = hubSentimentFolder(tempDir('parquet-hub'), 30, 7, 4)
    const train: TextExample[] = []
    const problems: DataProblem[] = []
    for await (const example of readTextExamples(folder, { task: 'classification', onProblem: (p) => problems.push(p) })) train.push(example)
    expect(problems.filter((p) => p.severity !== 'info')).toEqual([])
    expect(train.map((e) => e.row)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    // Row 16 is the second shard's first (15 rows each): i = 15 in sentimentRows.
    expect(train[15]).toEqual({ row: 16, text: 'honestly quite bad ', label: 'neg' })
    expect(train[14]).toEqual({ row: 15, text: 'a truly good indeed', label: 'pos' })

    const validation: TextExample[] = []
    for await (const example of readTextExamples(folder, { task: 'classification', split: 'validation', onProblem: () => {} })) validation.push(example)
    expect(validation.map((e) => e.row)).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(validation[0]!.text).toBe('the food is good ')

    const report = await validateTextDataset(folder)
    expect(report.rows).toBe(30)
    const note = report.problems.find((p) => p.severity === 'info' && p.message.includes('dataset folder'))
    expect(note?.message).toBe(
      `${folder.split('/').pop()}: a dataset folder; training split: 2 files (data/train-00000-of-00002.parquet, data/train-00001-of-00002.parquet); validation split: 1 file (data/validation-00000-of-00001.parquet), used as the validation data when no validation file is given (--validation), and checked when training starts`
    )
  })

  it('says what is wrong with a folder that holds no Parquet files or no train split', async () => {
    const empty = tempDir('parquet-empty')
    writeFileSync(join(empty, 'notes.txt'), 'hello')
    const { problems } = await readAll(empty)
    expect(problems.map((p) => p.code)).toEqual(['format-unknown'])
    expect(problems[0]!.message).toContain('a folder with no .parquet files')
    const onlyTest = tempDir('parquet-only-test')
    writeParquet(join(onlyTest, 'data/test-00000-of-00001.parquet'), { text: { type: 'string', values: ['a'] } })
    const { problems: noTrain } = await readAll(onlyTest)
    expect(noTrain.map((p) => p.message)).toEqual([`${onlyTest.split('/').pop()}: no train split (files such as data/train-00000-of-00001.parquet or train/0000.parquet); the folder has: test`])
  })
})

describe('memory', () => {
  it('stays flat while reading a ~50 MB file of many row groups', async () => {
    // gc() on demand, so what is measured is what the reader holds, not garbage not yet collected.
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const file = join(dir, 'big.parquet')
    const rows = 30_000
    {
      // Distinct rows (no dictionary can fold them), stored uncompressed: the file is as big as its text.
      const pad = 'x'.repeat(1650)
      const text = Array.from({ length: rows }, (_, i) => `row ${i} ${pad}`)
      writeParquet(file, { text: { type: 'string', values: text }, label: { type: 'int64', values: text.map((_, i) => i % 3) } }, { codec: 'UNCOMPRESSED', rowGroupSize: 500 })
    }
    const held = () => {
      const m = process.memoryUsage()
      return m.heapUsed + m.arrayBuffers
    }
    // The measure itself: a file read whole shows as its size, against what was held just before the read.
    // Writing the file left its 50 MB of buffers as garbage: freed only after the collection has run their
    // weak callbacks, so collect, let them run, and collect again before taking the baseline (with one
    // collection the garbage was freed during the read and the check saw nothing).
    gc()
    await new Promise((resolve) => setImmediate(resolve))
    gc()
    const before = held()
    const wholeFile = () => {
      const whole = readFileSync(file)
      return { size: whole.byteLength, held: held() }
    }
    const { size, held: whileWhole } = wholeFile()
    expect(size).toBeGreaterThan(45 * 2 ** 20)
    expect(whileWhole - before).toBeGreaterThan(size * 0.9)
    gc()
    const baseline = held()
    let peak = 0
    let seen = 0
    let labels = 0
    let groups = 0
    // A full collection takes ~0.1 s here: measure after every 10th of the 60 row groups.
    const onProgress = () => {
      if (++groups % 10 !== 0) return
      gc()
      peak = Math.max(peak, held() - baseline)
    }
    for await (const record of readRecords(file, { onProblem: (p) => { throw new Error(p.message) }, onProgress })) {
      seen++
      labels += record.fields['label'] as number
    }
    expect(seen).toBe(rows)
    expect(labels).toBe(Array.from({ length: rows }, (_, i) => i % 3).reduce((a, b) => a + b, 0))
    expect(groups).toBeGreaterThanOrEqual(60)
    // One row group is 500 rows, ~0.8 MB; the whole file would be 50.
    expect(peak).toBeLessThan(size / 4)
    if (process.env.SIVA_PARQUET_MEMORY) console.log(`parquet memory: file ${size} bytes, peak growth ${peak} bytes`)
  }, 30_000)
})
