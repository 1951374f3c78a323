import { CsvRecordParser } from './csvRecordParser'
import { defaultMaxLineBytes, readLines } from './lines'
import { invalidUtf8Problem, makeProblem, place, type DataProblem } from './problems'
import type { DataRecord, ReadOptions } from './records'

/**
 * CSV or TSV records keyed by the header row. Rows count as a spreadsheet shows them: the header is row 1,
 * a blank line is a row of its own, and a record whose quoted field spans lines is one row.
 */
export async function* readCsvRecords(file: string, options: ReadOptions & { delimiter: string }): AsyncGenerator<DataRecord> {
  const { onProblem } = options
  // A file that could not be read at all has said so; "no header row" would only add noise.
  let unreadable = false
  const lineOptions = {
    ...options,
    onProblem: (problem: DataProblem) => {
      if (problem.code === 'file-unreadable' || problem.code === 'utf16-bom' || problem.code === 'line-endings-cr') unreadable = true
      onProblem(problem)
    }
  }
  const parser = new CsvRecordParser(options.delimiter)
  const maxRecordChars = options.maxLineBytes ?? defaultMaxLineBytes
  let header: string[] | undefined
  let nextRow = 1

  for await (const source of readLines(file, lineOptions)) {
    // The row of the record this line starts or continues: rows advance only when a record ends.
    const row = nextRow
    if (source.invalidUtf8) {
      onProblem(invalidUtf8Problem(file, row, source.line))
    }
    const parsed = parser.push(source.text, source.ending, source.line)
    if (parsed === null) {
      // A quote never closed would read the rest of the file into one field: give up on the record
      // past the line limit, say where it started, and go on from the next line.
      if (parser.heldChars > maxRecordChars) {
        onProblem(unterminatedQuote(file, row, parser, header, `runs on for more than ${describeSize(maxRecordChars)} (through line ${source.line}), so it is most likely never closed; the record was skipped and reading goes on after it`))
        parser.abandon()
        nextRow++
      }
      continue
    }
    nextRow++
    if (parsed === 'blank') continue

    if (parsed.strayQuoteField !== undefined) {
      onProblem(
        makeProblem(file, 'csv-stray-quote', 'warning', `${place(file, row, parsed.line)}: a quote inside a field that is not wholly quoted; kept as written`, {
          row,
          field: header?.[parsed.strayQuoteField] ?? `column ${parsed.strayQuoteField + 1}`
        })
      )
    }
    if (header === undefined) {
      header = parsed.fields
      reportDuplicateColumns(file, header, onProblem)
      options.onColumns?.(header)
      continue
    }
    if (parsed.fields.length !== header.length) {
      const where = { row, ...(parsed.fields.length < header.length ? { field: header[parsed.fields.length]! } : {}) }
      onProblem(
        makeProblem(
          file,
          'csv-field-count',
          'error',
          `${place(file, row, parsed.line)}: expected ${header.length} fields (${header.join(', ')}), found ${parsed.fields.length}`,
          where
        )
      )
      continue
    }
    yield { row, line: parsed.line, fields: Object.fromEntries(header.map((name, i) => [name, parsed.fields[i]])) }
  }

  if (parser.open) {
    onProblem(unterminatedQuote(file, nextRow, parser, header, 'is never closed, so the rest of the file was read into it'))
  } else if (header === undefined && !unreadable) {
    onProblem(makeProblem(file, 'csv-no-header', 'error', `${place(file)}: no header row; the first row must name the columns`))
  }
}

/** A quote left open: where it opened (row, line, field) and what became of the record. */
function unterminatedQuote(file: string, row: number, parser: CsvRecordParser, header: string[] | undefined, what: string): DataProblem {
  const field = header?.[parser.openField] ?? `column ${parser.openField + 1}`
  return makeProblem(file, 'csv-unterminated-quote', 'error', `${place(file, row, parser.openLine)}: the quote that opens ${header ? `field "${field}"` : 'a header field'} ${what}`, { row, field })
}

function describeSize(chars: number): string {
  return chars >= 2 ** 20 ? `${Math.round(chars / 2 ** 20)} MiB` : `${chars} characters`
}

function reportDuplicateColumns(file: string, header: string[], onProblem: ReadOptions['onProblem']): void {
  const seen = new Set<string>()
  for (const name of header) {
    if (seen.has(name)) {
      onProblem(makeProblem(file, 'csv-duplicate-column', 'error', `${place(file, 1)}: column "${name}" appears more than once`, { row: 1, field: name }))
    }
    seen.add(name)
  }
}
