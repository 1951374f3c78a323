import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readTextExamples, validateTextDataset, type DataProblem, type TextExample } from '../../../src/main/engine/data'
import { tempDir } from '../../helpers/paths'

/**
 * Regression targets are decimal numbers as a spreadsheet or pandas writes them. JavaScript's Number()
 * reads far more ("0x10" is 16, "0b1" is 1, "" is 0, "Infinity"): each such cell is refused, named by
 * its row and column, instead of becoming a target nobody wrote.
 */
const cells: [cell: string, target: number | undefined][] = [
  ['0x10', undefined],
  ['0b1', undefined],
  ['0o7', undefined],
  ['1e', undefined],
  ['e5', undefined],
  ['Infinity', undefined],
  ['-Infinity', undefined],
  ['NaN', undefined],
  ['1_000', undefined],
  ['1,5', undefined],
  ['.', undefined],
  ['+', undefined],
  ['--1', undefined],
  ['1e999', undefined],
  ['٣', undefined], // an Arabic-Indic three: a digit, but not one pandas reads
  ['3', 3],
  [' 3 ', 3], // surrounding blanks are read past, as pandas (which Hugging Face datasets reads CSV with) does
  ['+2.5', 2.5],
  ['-0.125', -0.125],
  ['.5', 0.5],
  ['5.', 5],
  ['-1e3', -1000],
  ['2.5E-2', 0.025],
  ['1e+2', 100],
  ['007', 7]
]

async function readAll(file: string): Promise<{ examples: TextExample[]; problems: DataProblem[] }> {
  const problems: DataProblem[] = []
  const examples: TextExample[] = []
  for await (const example of readTextExamples(file, { task: 'regression', onProblem: (p) => p.severity !== 'info' && problems.push(p) })) examples.push(example)
  return { examples, problems }
}

describe('regression targets: decimal numbers only', () => {
  it('reads each cell of a CSV as pandas would, refusing the rest with row and column', async () => {
    const file = join(tempDir('regression-grammar'), 'scores.csv')
    writeFileSync(file, `text,target\n${cells.map(([cell], i) => `row ${i},"${cell}"`).join('\n')}\n`)
    const { examples, problems } = await readAll(file)
    expect(examples.map((e) => [e.row, e.target])).toEqual(cells.flatMap(([, target], i) => (target === undefined ? [] : [[i + 2, target]])))
    const refused = cells.flatMap(([cell, target], i) => (target === undefined ? [{ cell, row: i + 2 }] : []))
    expect(problems.map(({ row, field, code, severity }) => ({ row, field, code, severity }))).toEqual(refused.map(({ row }) => ({ row, field: 'target', code: 'label-not-numeric', severity: 'error' })))
    expect(problems.map((p) => p.message)).toEqual(
      refused.map(({ cell, row }) =>
        cell === '1e999'
          ? `scores.csv, row ${row}: "target" should be a number for regression, found "1e999", which is beyond the range of a 64-bit float`
          : `scores.csv, row ${row}: "target" should be a number for regression, found ${JSON.stringify(cell)}`
      )
    )
    const report = await validateTextDataset(file, { task: 'regression' })
    expect(report.usable).toBe(false)
    expect(report.problems.filter((p) => p.code === 'label-not-numeric').map((p) => p.row)).toEqual(refused.map((r) => r.row))
  })

  it('in JSON Lines: numbers are taken as they are, strings by the same grammar, anything else refused', async () => {
    const file = join(tempDir('regression-grammar-jsonl'), 'scores.jsonl')
    const values = ['16', '"0x10"', '"16"', 'true', '1e999', '[1]', '-0.5', '""']
    writeFileSync(file, `${values.map((v) => `{"text": "t", "label": ${v}}`).join('\n')}\n`)
    const { examples, problems } = await readAll(file)
    expect(examples.map((e) => [e.row, e.target])).toEqual([[1, 16], [3, 16], [7, -0.5]])
    expect(problems.map((p) => [p.row, p.field, p.code, p.message])).toEqual([
      [2, 'label', 'label-not-numeric', 'scores.jsonl, row 2: "label" should be a number for regression, found "0x10"'],
      [4, 'label', 'label-not-numeric', 'scores.jsonl, row 4: "label" should be a number for regression, found true'],
      // JSON.parse reads 1e999 as Infinity: the message says so, not "found null".
      [5, 'label', 'label-not-numeric', 'scores.jsonl, row 5: "label" should be a number for regression, found a number beyond the range of a 64-bit float'],
      [6, 'label', 'label-not-numeric', 'scores.jsonl, row 6: "label" should be a number for regression, found a list'],
      [8, 'label', 'label-missing', 'scores.jsonl, row 8: no label in "label"']
    ])
  })

  it('a 5 MB cell of digits with a letter at the end is refused in linear time', async () => {
    const file = join(tempDir('regression-grammar-long'), 'long.csv')
    writeFileSync(file, `text,label\na,${'1'.repeat(5_000_000)}x\n`)
    const started = performance.now()
    const { problems } = await readAll(file)
    expect(problems.map((p) => [p.row, p.code])).toEqual([[2, 'label-not-numeric']])
    expect(performance.now() - started).toBeLessThan(5_000)
  })
})
