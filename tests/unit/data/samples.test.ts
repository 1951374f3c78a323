// Independent checks on the bundled sample datasets (tests/fixtures/samples, made by
// tests/reference/make_sample_data.mjs): Python's csv and json modules are the reference parser, the counts
// must equal those README.md documents, and our own reader must agree with Python and report nothing.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { DataProblem } from '../../../src/main/engine/data/problems'
import { readRecords } from '../../../src/main/engine/data/records'
import { pythonWithNumpy, repoRoot } from '../../helpers/paths'

const samples = join(repoRoot, 'tests/fixtures/samples')
const sample = (name: string): string => join(samples, name)
const files = ['spam.csv', 'spam-validation.csv', 'brown-genres.jsonl', 'brown-news.txt', 'brown-continuation.jsonl', 'afinn-valence.csv']
const genres = ['hobbies', 'learned', 'news', 'religion', 'romance']

/** What README.md says of each file: rows, class counts, sha256. */
interface Documented {
  rows: number
  classes: Record<string, number>
  sha256: string
}

function documented(): Record<string, Documented> {
  const readme = readFileSync(sample('README.md'), 'utf8')
  const out: Record<string, Documented> = {}
  for (const m of readme.matchAll(/^\| (\S+) \| (\d+) (?:rows|lines)(?:; ([^|]+))? \| \d+ \| `([0-9a-f]{64})` \|$/gm)) {
    const classes: Record<string, number> = {}
    for (const pair of (m[3] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      const [name, count] = pair.split(' ')
      classes[name!] = Number(count)
    }
    out[m[1]!] = { rows: Number(m[2]), classes, sha256: m[4]! }
  }
  return out
}

/** Python's reading of every sample: CSV rows with the csv module, JSONL objects with json, text lines. */
function pythonReference(): Record<string, { rows: unknown[]; header?: string[] }> {
  const script = `
import csv, json, sys
out = {}
for name in sys.argv[2:]:
    path = sys.argv[1] + "/" + name
    if name.endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f, strict=True))
        out[name] = {"header": rows[0], "rows": [dict(zip(rows[0], r)) if len(r) == len(rows[0]) else {"bad": r} for r in rows[1:]]}
    elif name.endswith(".jsonl"):
        with open(path, encoding="utf-8") as f:
            out[name] = {"rows": [json.loads(line) for line in f.read().split("\\n") if line.strip()]}
    else:
        with open(path, newline="", encoding="utf-8") as f:
            out[name] = {"rows": [line for line in f.read().split("\\n") if line.strip()]}
print(json.dumps(out))
`
  const result = spawnSync(pythonWithNumpy(), ['-c', script, samples, ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (result.error) throw result.error
  if (result.status !== 0) throw new Error(`python reference failed (${result.status}):\n${result.stderr}`)
  return JSON.parse(result.stdout)
}

async function ours(name: string): Promise<{ fields: Record<string, unknown>[]; problems: DataProblem[]; columns?: string[] }> {
  const problems: DataProblem[] = []
  const fields: Record<string, unknown>[] = []
  let columns: string[] | undefined
  for await (const r of readRecords(sample(name), { onProblem: (p) => problems.push(p), onColumns: (c) => (columns = c) })) {
    fields.push(r.fields)
  }
  return { fields, problems, ...(columns && { columns }) }
}

function countBy(rows: Record<string, unknown>[], key: string): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const r of rows) counts[String(r[key])] = (counts[String(r[key])] ?? 0) + 1
  return counts
}

const docs = documented()
const python = pythonReference()

describe('bundled sample datasets', () => {
  it('README documents every file, and each file has the sha256 it documents', () => {
    expect(Object.keys(docs).sort()).toEqual([...files].sort())
    for (const name of files) {
      expect(createHash('sha256').update(readFileSync(sample(name))).digest('hex'), name).toBe(docs[name]!.sha256)
    }
  })

  it('stays small', () => {
    const bytes = files.reduce((sum, name) => sum + statSync(sample(name)).size, 0)
    expect(bytes).toBeLessThan(600 * 1024)
  })

  it('has the row and class counts README documents, as Python counts them', () => {
    for (const name of files) {
      const rows = python[name]!.rows
      expect(rows.length, name).toBe(docs[name]!.rows)
      if (name.endsWith('.csv') || name === 'brown-genres.jsonl') {
        expect(countBy(rows as Record<string, unknown>[], 'label'), name).toEqual(docs[name]!.classes)
      }
    }
    expect(docs['spam.csv']!.classes).toEqual({ ham: 150, spam: 150 })
    expect(docs['spam-validation.csv']!.classes).toEqual({ ham: 50, spam: 50 })
    expect(Object.keys(docs['brown-genres.jsonl']!.classes).sort()).toEqual(genres)
  })

  for (const name of files) {
    it(`${name}: our reader gives the records Python gives and reports no problem`, async () => {
      const { fields, problems, columns } = await ours(name)
      expect(problems).toEqual([])
      const expected = name.endsWith('.txt') ? (python[name]!.rows as string[]).map((text) => ({ text })) : python[name]!.rows
      expect(fields).toEqual(expected)
      if (name.endsWith('.csv')) expect(columns).toEqual(python[name]!.header)
    })
  }

  it('spam CSVs: text,label columns, one record per line, labels ham or spam, non-empty short texts', () => {
    for (const name of ['spam.csv', 'spam-validation.csv']) {
      expect(python[name]!.header).toEqual(['text', 'label'])
      const lines = readFileSync(sample(name), 'utf8').split('\n')
      expect(lines.at(-1)).toBe('')
      expect(lines.length - 2, `${name}: one physical line per record`).toBe(docs[name]!.rows)
      for (const row of python[name]!.rows as Record<string, string>[]) {
        expect(Object.keys(row)).toEqual(['text', 'label'])
        expect(['ham', 'spam']).toContain(row.label)
        expect(row.text.trim()).not.toBe('')
        expect(row.text.length).toBeLessThanOrEqual(800)
        expect(row.text).not.toMatch(/[\r\n\t\uFFFD]/)
      }
    }
  })

  it('spam CSVs: no text twice, and training and validation share none', () => {
    const texts = (name: string): string[] => (python[name]!.rows as Record<string, string>[]).map((r) => r.text.toLowerCase())
    const train = texts('spam.csv')
    const validation = texts('spam-validation.csv')
    expect(new Set(train).size).toBe(train.length)
    expect(new Set(validation).size).toBe(validation.length)
    expect(validation.filter((t) => train.includes(t))).toEqual([])
  })

  it('brown-genres.jsonl: objects with a non-empty text and a known genre', () => {
    for (const row of python['brown-genres.jsonl']!.rows as Record<string, unknown>[]) {
      expect(Object.keys(row)).toEqual(['text', 'label'])
      expect(typeof row.text).toBe('string')
      expect((row.text as string).trim()).not.toBe('')
      expect(row.text).not.toMatch(/\/[a-z$*+-]+( |$)|``|''/) // no Brown tags or tokeniser quotes left
      expect(genres).toContain(row.label)
    }
  })

  it('brown-continuation.jsonl: prompt and completion strings, completion with one leading space', () => {
    for (const row of python['brown-continuation.jsonl']!.rows as Record<string, unknown>[]) {
      expect(Object.keys(row)).toEqual(['prompt', 'completion'])
      expect(typeof row.prompt).toBe('string')
      expect(typeof row.completion).toBe('string')
      expect((row.prompt as string).trim()).not.toBe('')
      expect(row.prompt).toBe((row.prompt as string).trim())
      expect(row.completion).toMatch(/^ \S/)
      expect(row.completion).toBe((row.completion as string).trimEnd())
    }
  })

  it('brown-news.txt: one non-empty paragraph a line, LF endings, nothing the detokeniser missed', () => {
    const raw = readFileSync(sample('brown-news.txt'), 'utf8')
    expect(raw.endsWith('\n')).toBe(true)
    expect(raw).not.toMatch(/\r|\n\n|^\s|\s\n| [,.;:?!)]|``|''|;;/m)
    expect(raw.split('\n').length - 1).toBe(docs['brown-news.txt']!.rows)
  })
})
