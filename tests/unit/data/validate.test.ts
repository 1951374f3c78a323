import { describe, expect, it } from 'vitest'
import { validateTextClassification, type DataProblem } from '../../../src/main/engine/data'
import { fixture } from './helpers'

const errorsAndWarnings = (problems: DataProblem[]) => problems.filter((p) => p.severity !== 'info')

describe('validateTextClassification', () => {
  it('passes a clean file and summarises it', async () => {
    const report = await validateTextClassification(fixture('train.csv'))
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
    const report = await validateTextClassification(fixture('train.csv'), { columns: { text: 'sentence' } })
    expect(report.usable).toBe(false)
    expect(report.problems).toContainEqual(
      expect.objectContaining({ row: 1, field: 'sentence', code: 'column-missing', message: 'column "sentence" not found in train.csv; columns: text, label' })
    )
  })

  it('detects sentence-pair columns', async () => {
    const report = await validateTextClassification(fixture('pairs.csv'))
    expect(report.summary.columns).toEqual({ text: 'sentence1', textPair: 'sentence2', label: 'label' })
  })

  it('reports empty and non-string text with row and field', async () => {
    const csv = await validateTextClassification(fixture('empty-text.csv'))
    expect(errorsAndWarnings(csv.problems).filter((p) => p.code === 'text-empty').map((p) => [p.row, p.field])).toEqual([[3, 'text'], [4, 'text']])
    const jsonl = await validateTextClassification(fixture('text-not-string.jsonl'))
    expect(jsonl.problems.filter((p) => p.code === 'text-not-string').map((p) => [p.row, p.field, p.message])).toEqual([
      [2, 'text', 'text-not-string.jsonl, row 2: "text" should be text, found a number'],
      [3, 'text', 'text-not-string.jsonl, row 3: "text" should be text, found nothing']
    ])
    expect(jsonl.usable).toBe(false)
  })

  it('reports a missing label', async () => {
    const report = await validateTextClassification(fixture('missing-label.csv'))
    expect(report.problems).toContainEqual(expect.objectContaining({ row: 3, field: 'label', code: 'label-missing', severity: 'error' }))
  })

  it('reports a non-numeric regression target and summarises the rest', async () => {
    const report = await validateTextClassification(fixture('regression.csv'), { task: 'regression' })
    expect(report.summary.columns).toEqual({ text: 'sentence', label: 'target' })
    expect(errorsAndWarnings(report.problems)).toEqual([
      expect.objectContaining({ row: 4, field: 'target', code: 'label-not-numeric', message: 'regression.csv, row 4: "target" should be a number for regression, found "very"' })
    ])
    expect(report.summary.labels).toEqual({ min: -10, max: 2, mean: (0.5 - 10 + 2) / 3 })
  })

  it('warns about a class with a single example', async () => {
    const report = await validateTextClassification(fixture('single-example.csv'))
    expect(errorsAndWarnings(report.problems)).toEqual([expect.objectContaining({ row: 6, field: 'label', code: 'class-single-example', severity: 'warning' })])
    expect(report.usable).toBe(true)
  })

  it('reports validation labels unseen in training', async () => {
    const report = await validateTextClassification(fixture('dev.csv'), { knownLabels: ['pos', 'neg'] })
    expect(report.problems).toContainEqual(expect.objectContaining({ row: 4, field: 'label', code: 'label-unseen', severity: 'error' }))
    expect(report.usable).toBe(false)
  })

  it('counts exact duplicate rows and names the first few', async () => {
    const report = await validateTextClassification(fixture('duplicates.csv'))
    expect(report.summary.duplicates).toEqual({ count: 2, examples: [{ row: 4, sameAs: 2 }, { row: 6, sameAs: 3 }] })
    expect(report.problems).toContainEqual(
      expect.objectContaining({ row: 4, code: 'duplicate-rows', message: 'duplicates.csv: 2 rows repeat an earlier row exactly: rows 4 (same as 2), 6 (same as 3)' })
    )
  })

  it('includes the reader’s problems and lists them all, not only the first', async () => {
    const report = await validateTextClassification(fixture('field-count.csv'))
    expect(report.problems.filter((p) => p.code === 'csv-field-count').map((p) => p.row)).toEqual([3, 5])
    expect(report.usable).toBe(false)
    const unreadable = await validateTextClassification(fixture('utf16.csv'))
    expect(unreadable.problems.map((p) => p.code)).toEqual(['utf16-bom'])
  })
})
