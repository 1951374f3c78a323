import { readLines } from './lines'
import { invalidUtf8Problem, makeProblem, place } from './problems'
import type { DataRecord, ReadOptions } from './records'

/** JSON Lines (jsonlines.org): one JSON object per line; the row is the line number; blank lines are skipped. */
export async function* readJsonlRecords(file: string, options: ReadOptions): AsyncGenerator<DataRecord> {
  const { onProblem } = options
  let columnsSent = false
  for await (const source of readLines(file, options)) {
    const row = source.line
    if (source.invalidUtf8) {
      onProblem(invalidUtf8Problem(file, row))
    }
    if (source.text.trim() === '') continue
    let value: unknown
    try {
      value = JSON.parse(source.text)
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      onProblem(makeProblem(file, 'json-invalid', 'error', `${place(file, row)}: not valid JSON (${reason})`, { row }))
      continue
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`
      onProblem(makeProblem(file, 'json-not-object', 'error', `${place(file, row)}: expected a JSON object ({"text": …}), found ${kind}`, { row }))
      continue
    }
    const fields = value as Record<string, unknown>
    if (!columnsSent) {
      columnsSent = true
      options.onColumns?.(Object.keys(fields))
    }
    yield { row, line: row, fields }
  }
}
