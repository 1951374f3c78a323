import { readLines } from './lines'
import { invalidUtf8Problem } from './problems'
import type { DataRecord, ReadOptions } from './records'

/**
 * Plain text as `{ text }` records: each non-empty line, or with `paragraphs` each run of lines up to a
 * blank line (joined with '\n', the row of its first line). Used for language-model data.
 */
export async function* readTextRecords(file: string, options: ReadOptions): AsyncGenerator<DataRecord> {
  const { onProblem } = options
  options.onColumns?.(['text'])
  let paragraph: string[] = []
  let paragraphRow = 0
  for await (const source of readLines(file, options)) {
    const row = source.line
    if (source.invalidUtf8) {
      onProblem(invalidUtf8Problem(file, row))
    }
    const blank = source.text.trim() === ''
    if (!options.paragraphs) {
      if (!blank) yield { row, line: row, fields: { text: source.text } }
      continue
    }
    if (!blank) {
      if (paragraph.length === 0) paragraphRow = row
      paragraph.push(source.text)
    } else if (paragraph.length > 0) {
      yield { row: paragraphRow, line: paragraphRow, fields: { text: paragraph.join('\n') } }
      paragraph = []
    }
  }
  if (paragraph.length > 0) yield { row: paragraphRow, line: paragraphRow, fields: { text: paragraph.join('\n') } }
}
