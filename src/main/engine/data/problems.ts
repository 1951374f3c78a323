import { basename } from 'node:path'

/**
 * What is wrong with a data file, said so the user can find it: the file, the row as a spreadsheet shows it
 * and, when one is at fault, the column. Readers report problems instead of throwing, so one pass over a
 * file can list everything that needs fixing rather than only the first thing.
 */
export type Severity = 'error' | 'warning' | 'info'

export type DataProblemCode =
  // the file as a whole
  | 'file-unreadable'
  | 'format-unknown'
  | 'bom'
  | 'utf16-bom'
  | 'encoding-invalid-utf8'
  | 'line-endings-cr'
  | 'line-too-long'
  // CSV and TSV
  | 'csv-no-header'
  | 'csv-duplicate-column'
  | 'csv-unterminated-quote'
  | 'csv-stray-quote'
  | 'csv-field-count'
  // JSON Lines
  | 'json-invalid'
  | 'json-not-object'
  // columns and values (validation)
  | 'column-missing'
  | 'column-detected'
  | 'text-empty'
  | 'text-not-string'
  | 'text-too-long'
  // chat data (a messages column)
  | 'chat-messages-invalid'
  | 'chat-no-assistant'
  | 'chat-template-missing'
  | 'chat-template-error'
  | 'label-missing'
  | 'label-not-scalar'
  | 'label-not-numeric'
  | 'label-unseen'
  | 'class-single-example'
  | 'single-class'
  | 'too-many-classes'
  | 'duplicate-rows'
  | 'no-records'
  | 'problems-omitted'
  // causal language modelling
  | 'completion-missing'
  | 'completion-empty'
  // images (a folder per class, or a CSV of path,label)
  | 'image-missing'
  | 'image-undecodable'
  | 'image-unsupported-format'
  | 'image-too-large'
  | 'image-too-small'
  | 'class-folder-empty'
  | 'stray-file'

export interface DataProblem {
  file: string
  /** 1-based row as a spreadsheet shows it (CSV: the header is row 1); absent when the whole file is at fault. */
  row?: number
  /** The column at fault, when there is one. */
  field?: string
  code: DataProblemCode
  severity: Severity
  /** One line, ready to show as it is. */
  message: string
}

/** Where readers send problems; a callback keeps records and problems in one pass without buffering either. */
export type ProblemSink = (problem: DataProblem) => void

export function makeProblem(
  file: string,
  code: DataProblemCode,
  severity: Severity,
  message: string,
  where: { row?: number; field?: string } = {}
): DataProblem {
  const problem: DataProblem = { file, code, severity, message: oneLine(message) }
  if (where.row !== undefined) problem.row = where.row
  if (where.field !== undefined) problem.field = where.field
  return problem
}

/** Messages quote file content (values, column names); a newline in them must not split the line. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ')
}

/**
 * "train.csv, row 3", or "train.csv, row 3 (line 5)" when a CSV record before it spanned lines, so both a
 * spreadsheet and a text editor find it. The bare file name: the full path is in `DataProblem.file`.
 */
export function place(file: string, row?: number, line?: number): string {
  const name = basename(file)
  if (row === undefined) return name
  return line === undefined || line === row ? `${name}, row ${row}` : `${name}, row ${row} (line ${line})`
}

/** A value quoted for a message, cut short so one bad 10 MB cell does not become a 10 MB message. */
export function quote(value: string, max = 60): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value)
}

/** The same words for bad bytes in every format. */
export function invalidUtf8Problem(file: string, row: number, line?: number): DataProblem {
  return makeProblem(file, 'encoding-invalid-utf8', 'error', `${place(file, row, line)}: bytes that are not UTF-8 (shown as �); re-save the file as UTF-8`, { row })
}
