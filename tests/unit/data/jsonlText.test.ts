import { describe, expect, it } from 'vitest'
import { fixture, readAll } from './helpers'

describe('JSON Lines', () => {
  it('reports a line that is not JSON at its line number, skips blank lines and reads on', async () => {
    const file = fixture('invalid-json.jsonl')
    const { records, problems } = await readAll(file)
    expect(records.map((r) => [r.row, r.fields.text])).toEqual([[1, 'fine'], [4, 'fine again']])
    expect(problems).toEqual([expect.objectContaining({ file, row: 3, code: 'json-invalid', severity: 'error' })])
  })

  it('reports JSON that is not an object', async () => {
    const file = fixture('not-object.jsonl')
    const { records, problems } = await readAll(file)
    expect(records).toHaveLength(1)
    expect(problems.map((p) => [p.row, p.code, p.message])).toEqual([
      [2, 'json-not-object', 'not-object.jsonl, row 2: expected a JSON object ({"text": …}), found an array'],
      [3, 'json-not-object', 'not-object.jsonl, row 3: expected a JSON object ({"text": …}), found a string']
    ])
  })
})

describe('plain text', () => {
  it('gives each non-empty line, CRLF or LF, with its line number', async () => {
    const { records, problems } = await readAll(fixture('lines.txt'))
    expect(problems).toEqual([])
    expect(records.map((r) => [r.row, r.fields.text])).toEqual([[1, 'first line'], [4, 'second line'], [5, 'third line']])
  })

  it('gives paragraphs with the row of their first line', async () => {
    const { records } = await readAll(fixture('paragraphs.txt'), { paragraphs: true })
    expect(records.map((r) => [r.row, r.fields.text])).toEqual([[1, 'para one\nstill one'], [4, 'para two'], [7, 'para three']])
  })
})
