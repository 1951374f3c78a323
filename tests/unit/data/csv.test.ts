import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../helpers/paths'
import { fixture, pythonCsvRows, readAll } from './helpers'

/** Header then records, in header order, the shape Python's csv module gives. */
async function asRows(file: string): Promise<string[][]> {
  const { records, columns } = await readAll(file)
  return [columns!, ...records.map((r) => columns!.map((c) => r.fields[c] as string))]
}

describe('CSV and TSV against Python csv', () => {
  for (const [name, delimiter] of [['tricky.csv', ','], ['crlf.csv', ','], ['tricky.tsv', '\t']] as const) {
    it(`reads ${name} as Python's csv module does`, async () => {
      const { problems } = await readAll(fixture(name))
      expect(problems).toEqual([])
      expect(await asRows(fixture(name))).toEqual(pythonCsvRows(fixture(name), delimiter))
    })
  }

  it('numbers rows as a spreadsheet does and keeps the line where each record starts', async () => {
    const { records } = await readAll(fixture('tricky.csv'))
    expect(records.map((r) => [r.row, r.line])).toEqual([[2, 2], [3, 3], [4, 4], [5, 6], [6, 7], [7, 8]])
    expect(records[2]!.fields.text).toBe('line one\nline two, still the same field')
  })

  it('keeps a CRLF inside a quoted field as the file wrote it', async () => {
    const { records } = await readAll(fixture('crlf.csv'))
    expect(records.map((r) => r.fields)).toEqual([{ text: 'a\r\nb', label: 'pos' }, { text: 'second', label: 'neg' }])
  })
})

describe('CSV problems name file, row and field', () => {
  it('reports an unterminated quote at the row and column it opens', async () => {
    const file = fixture('unterminated-quote.csv')
    const { records, problems } = await readAll(file)
    expect(records.map((r) => r.row)).toEqual([2])
    expect(problems).toEqual([
      expect.objectContaining({ file, row: 3, field: 'text', code: 'csv-unterminated-quote', severity: 'error' })
    ])
    expect(problems[0]!.message).toMatch(/^unterminated-quote\.csv, row 3: the quote that opens field "text" is never closed/)
  })

  it('reports rows with the wrong number of fields and reads on', async () => {
    const file = fixture('field-count.csv')
    const { records, problems } = await readAll(file)
    expect(records.map((r) => r.row)).toEqual([2, 4])
    expect(problems).toEqual([
      expect.objectContaining({ file, row: 3, code: 'csv-field-count', message: 'field-count.csv, row 3: expected 2 fields (text, label), found 3' }),
      expect.objectContaining({ file, row: 5, field: 'label', code: 'csv-field-count', message: 'field-count.csv, row 5 (line 6): expected 2 fields (text, label), found 1' })
    ])
    expect(problems[0]!.field).toBeUndefined()
  })

  it('reports bytes that are not UTF-8 at their row and still reads the row', async () => {
    const file = fixture('invalid-utf8.csv')
    const { records, problems } = await readAll(file)
    expect(problems).toEqual([expect.objectContaining({ file, row: 3, code: 'encoding-invalid-utf8', severity: 'error' })])
    expect(records[1]!.fields.text).toBe('caf\uFFFD latin-1')
  })

  it('strips a UTF-8 BOM and notes it', async () => {
    const file = fixture('bom.csv')
    const { records, problems, columns } = await readAll(file)
    expect(columns).toEqual(['text', 'label'])
    expect(records[0]!.fields).toEqual({ text: 'hello', label: 'pos' })
    expect(problems).toEqual([expect.objectContaining({ file, row: 1, code: 'bom', severity: 'info' })])
  })

  it('refuses a UTF-16 file and says to re-save it as UTF-8', async () => {
    const file = fixture('utf16.csv')
    const { records, problems } = await readAll(file)
    expect(records).toEqual([])
    expect(problems).toEqual([expect.objectContaining({ file, code: 'utf16-bom', severity: 'error', message: expect.stringMatching(/UTF-16; re-save it as UTF-8/) })])
  })

  it('reports a file that cannot be read or has no known format', async () => {
    expect((await readAll(fixture('nowhere.csv'))).problems).toEqual([expect.objectContaining({ code: 'file-unreadable', message: 'nowhere.csv: not found (ENOENT)' })])
    expect((await readAll(fixture('.gitattributes'))).problems).toEqual([expect.objectContaining({ code: 'format-unknown' })])
  })

  it('refuses a file with classic Mac line endings (lone CR) instead of reading it as one line', async () => {
    const { records, problems } = await readAll(fixture('cr-only.csv'))
    expect(records).toEqual([])
    expect(problems).toEqual([expect.objectContaining({ code: 'line-endings-cr', severity: 'error', message: 'cr-only.csv: lines end with a lone carriage return (classic Mac OS); re-save it with LF or CRLF line endings' })])
  })

  it('gives up on a quote never closed past the record limit, and reads on after it', async () => {
    const { records, problems } = await readAll(fixture('runaway-quote.csv'), { maxLineBytes: 64 })
    expect(problems.map((p) => [p.code, p.row, p.field])).toEqual([['csv-unterminated-quote', 3, 'text']])
    expect(problems[0]!.message).toMatch(/^runaway-quote\.csv, row 3: the quote that opens field "text" runs on for more than 64 characters \(through line 4\)/)
    expect(records.map((r) => [r.row, r.fields['text']])).toEqual([
      [2, 'good film'],
      [4, 'the following'],
      [5, 'rows of the file'],
      [6, 'into one field']
    ])
  })

  it('skips a line over the limit, within one chunk and across chunks, with its line number', async () => {
    const small = await readAll(fixture('long-line.jsonl'), { maxLineBytes: 100 })
    expect(small.records.map((r) => r.row)).toEqual([1, 3])
    expect(small.problems).toEqual([expect.objectContaining({ code: 'line-too-long', row: 2, message: 'long-line.jsonl, line 2: longer than 100 bytes; skipped (is this the data file you meant?)' })])
    const dir = tempDir('long-line')
    const file = join(dir, 'huge.jsonl')
    writeFileSync(file, `{"text": "a", "label": 1}\n{"text": "${'y'.repeat(300_000)}", "label": 2}\n{"text": "b", "label": 1}\n`)
    const big = await readAll(file, { maxLineBytes: 100_000 })
    expect(big.records.map((r) => r.row)).toEqual([1, 3])
    expect(big.problems.map((p) => [p.code, p.row])).toEqual([['line-too-long', 2]])
  })

  it('flags quotes RFC 4180 does not allow, keeps the text as Python reads it', async () => {
    const file = fixture('stray-quote.csv')
    const { records, problems } = await readAll(file)
    expect(records.map((r) => r.fields['text'])).toEqual(pythonCsvRows(file).slice(1).map((row) => row[0]))
    expect(problems.map((p) => [p.code, p.row, p.field, p.severity])).toEqual([
      ['csv-stray-quote', 2, 'text', 'warning'],
      ['csv-stray-quote', 3, 'text', 'warning']
    ])
  })

  it('reports a file with no header row, and a column named twice', async () => {
    expect((await readAll(fixture('empty.csv'))).problems).toEqual([expect.objectContaining({ code: 'csv-no-header', message: 'empty.csv: no header row; the first row must name the columns' })])
    expect((await readAll(fixture('duplicate-column.csv'))).problems).toEqual([
      expect.objectContaining({ code: 'csv-duplicate-column', row: 1, field: 'text', message: 'duplicate-column.csv, row 1: column "text" appears more than once' })
    ])
  })
})

