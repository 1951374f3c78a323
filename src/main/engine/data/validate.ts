import { resolveColumns, type ColumnChoice, type ColumnMapping } from './columns'
import { DuplicateFinder } from './duplicates'
import { characterCount, LengthHistogram } from './lengthHistogram'
import { ClassTally, classLabel, maxClasses, NumericTally, numericLabel } from './labels'
import { ProblemLog } from './problemLog'
import { makeProblem, place, quote } from './problems'
import { formatOf, readRecords, type DataFormat } from './records'
import type { ValidationReport, ValidationSummary } from './report'

export type TextTask = 'classification' | 'regression'

export interface ValidateOptions {
  task?: TextTask
  columns?: ColumnChoice
  /** Labels seen in training: a validation file's label outside them is an error. */
  knownLabels?: Iterable<string>
  format?: DataFormat
  delimiter?: string
  /** Problems kept per code (default 100); the report says how many more there were. */
  maxProblemsPerCode?: number
  onProgress?: (bytesRead: number, totalBytes: number) => void
  signal?: AbortSignal
}

/**
 * Check a file for text classification or regression in one streaming pass and report every problem:
 * the reader's (encoding, quoting, JSON), missing columns, empty or non-text text, missing or bad labels,
 * single-example classes, labels unknown to training, and exact duplicate rows.
 */
export async function validateTextClassification(file: string, options: ValidateOptions = {}): Promise<ValidationReport> {
  const task = options.task ?? 'classification'
  const log = new ProblemLog(options.maxProblemsPerCode)
  const known = options.knownLabels === undefined ? undefined : new Set(options.knownLabels)
  let mapping: Partial<ColumnMapping> = {}
  const lengths = new LengthHistogram()
  const classes = new ClassTally()
  const numbers = new NumericTally()
  const duplicates = new DuplicateFinder()
  const unseen = new Map<string, { row: number; count: number }>()
  let rows = 0

  const records = readRecords(file, {
    onProblem: log.add,
    ...(options.format && { format: options.format }),
    ...(options.delimiter && { delimiter: options.delimiter }),
    ...(options.onProgress && { onProgress: options.onProgress }),
    ...(options.signal && { signal: options.signal }),
    onColumns: (columns) => {
      const resolved = resolveColumns(file, columns, options.columns, (options.format ?? formatOf(file)) === 'csv' ? 1 : undefined)
      mapping = resolved.mapping
      resolved.problems.forEach(log.add)
    }
  })

  for await (const { row, fields } of records) {
    rows++
    const at = place(file, row)
    let usable = true
    let length = 0
    for (const column of [mapping.text, mapping.textPair]) {
      if (column === undefined) continue
      const value = fields[column]
      if (typeof value !== 'string') {
        usable = false
        const found = value === undefined ? 'nothing' : value === null ? 'null' : `a ${Array.isArray(value) ? 'list' : typeof value}`
        log.add(makeProblem(file, 'text-not-string', 'error', `${at}: "${column}" should be text, found ${found}`, { row, field: column }))
      } else if (value.trim() === '') {
        usable = false
        log.add(makeProblem(file, 'text-empty', 'error', `${at}: "${column}" is empty`, { row, field: column }))
      } else {
        length += characterCount(value)
      }
    }

    const labelColumn = mapping.label
    const raw = labelColumn === undefined ? undefined : fields[labelColumn]
    if (labelColumn !== undefined) {
      if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
        usable = false
        log.add(makeProblem(file, 'label-missing', 'error', `${at}: no label in "${labelColumn}"`, { row, field: labelColumn }))
      } else if (task === 'regression') {
        const number = numericLabel(raw)
        if (number === undefined) {
          usable = false
          log.add(makeProblem(file, 'label-not-numeric', 'error', `${at}: "${labelColumn}" should be a number for regression, found ${typeof raw === 'string' ? quote(raw) : JSON.stringify(raw)}`, { row, field: labelColumn }))
        } else {
          numbers.add(number)
        }
      } else {
        const label = classLabel(raw)
        if (label === undefined) {
          usable = false
          log.add(makeProblem(file, 'label-not-scalar', 'error', `${at}: "${labelColumn}" should be one class name or number, found ${Array.isArray(raw) ? 'a list' : 'an object'}`, { row, field: labelColumn }))
        } else {
          classes.add(label, row)
          if (known && !known.has(label)) {
            const seen = unseen.get(label)
            if (seen) seen.count++
            else unseen.set(label, { row, count: 1 })
          }
        }
      }
    }

    if (!usable) continue
    lengths.add(length)
    const values = [mapping.text, mapping.textPair, labelColumn].map((column) => (column === undefined ? null : fields[column]))
    duplicates.add(row, values)
  }

  if (rows === 0 && !log.hasErrors) {
    log.add(makeProblem(file, 'no-records', 'error', `${place(file)}: no records to train on`))
  }
  const classCounts = task === 'classification' ? classes.counts() : undefined
  for (const { label, count, firstRow } of classCounts ?? []) {
    if (count === 1) {
      log.add(
        makeProblem(file, 'class-single-example', 'warning', `${place(file, firstRow)}: class ${quote(label)} has only this one example; a model cannot learn it or be tested on it`, {
          row: firstRow,
          ...(mapping.label !== undefined && { field: mapping.label })
        })
      )
    }
  }
  if (classes.overflowed) {
    log.add(makeProblem(file, 'too-many-classes', 'warning', `${place(file)}: more than ${maxClasses} different labels; is "${mapping.label}" the label column, or is this regression?`))
  }
  for (const [label, { row, count }] of unseen) {
    log.add(
      makeProblem(file, 'label-unseen', 'error', `${place(file, row)}: label ${quote(label)} is not among the training labels (${count} row${count === 1 ? '' : 's'})`, {
        row,
        ...(mapping.label !== undefined && { field: mapping.label })
      })
    )
  }
  const duplicateSummary = duplicates.summary()
  if (duplicateSummary.count > 0) {
    const first = duplicateSummary.examples[0]!
    const examples = duplicateSummary.examples.map(({ row, sameAs }) => `${row} (same as ${sameAs})`).join(', ')
    const more = duplicateSummary.count > duplicateSummary.examples.length ? ', …' : ''
    log.add(
      makeProblem(file, 'duplicate-rows', 'warning', `${place(file)}: ${duplicateSummary.count} row${duplicateSummary.count === 1 ? ' repeats' : 's repeat'} an earlier row exactly: rows ${examples}${more}`, {
        row: first.row
      })
    )
  }

  const summary: ValidationSummary = { columns: mapping, textLength: lengths.summary(), duplicates: duplicateSummary }
  if (classCounts) summary.classes = classCounts
  const numeric = numbers.summary()
  if (task === 'regression' && numeric) summary.labels = numeric
  return { file, task, rows, problems: log.finish(file), summary, usable: !log.hasErrors }
}
