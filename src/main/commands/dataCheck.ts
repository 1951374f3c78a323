import { basename } from 'node:path'
import { readRecords, TextTokenizer, validateTextClassification, type ColumnChoice, type DataProblem, type ValidationReport } from '../engine/data'
import { parseCommandArgs, plural } from './args'
import { CliUsageError } from './errors'
import { ProgressLine } from './progress'

const help = `usage: siva data check --data FILE --task classify|regress [options]

Reads the whole file (streaming; a second pass counts tokens when --model is given) and lists every
problem with its file, row (as a spreadsheet shows it) and column, then a summary and a preview of the
first rows. Exit status 0 when the data can be used for
training, 1 when it cannot.

options:
  --data FILE             CSV, TSV, JSONL or .txt
  --task TASK             classify (labels) or regress (numeric targets); causal-lm and
                          image-classify are not supported yet
  --model DIR             a checkpoint folder: rows are tokenised with its tokenizer.json, and rows
                          longer than --max-length are counted
  --max-length N          token limit (default: the tokenizer's model_max_length, else 512)
  --text-column NAME      the text column (default: text, sentence or content)
  --text-pair-column NAME the second sentence of a pair (default: sentence2, text_b, … when present)
  --label-column NAME     the label column (default: label, labels or target)
  --json                  print exactly one JSON document on stdout
  --quiet                 no progress on stderr
  -h, --help              this help`

const previewRows = 5

interface TokenStats {
  maxLength: number
  min: number
  max: number
  mean: number
  tooLong: number
  longest?: { row: number; tokens: number }
}

interface PreviewRow {
  row: number
  text: unknown
  textPair?: unknown
  label: unknown
  tokens?: number
  ids?: number[]
}

export async function dataCheckCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('data check', {
    args: argv,
    allowPositionals: false,
    options: {
      data: { type: 'string' },
      task: { type: 'string' },
      model: { type: 'string' },
      'max-length': { type: 'string' },
      'text-column': { type: 'string' },
      'text-pair-column': { type: 'string' },
      'label-column': { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) {
    process.stdout.write(`${help}\n`)
    return 0
  }
  if (!values.data) throw new CliUsageError("data check needs --data FILE; see 'siva data check --help'")
  const task = values.task
  if (task === 'causal-lm' || task === 'image-classify') throw new CliUsageError(`--task ${task} is not supported yet: this version checks classify and regress data`)
  if (task !== 'classify' && task !== 'regress') throw new CliUsageError(`--task must be classify or regress, got '${task ?? ''}'`)
  const columns: ColumnChoice = {
    ...(values['text-column'] && { text: values['text-column'] }),
    ...(values['text-pair-column'] && { textPair: values['text-pair-column'] }),
    ...(values['label-column'] && { label: values['label-column'] })
  }
  const tokenizer = values.model ? await TextTokenizer.load(values.model) : undefined
  const maxLength = values['max-length'] === undefined ? (tokenizer?.modelMaxLength ?? 512) : Number(values['max-length'])
  if (!(Number.isInteger(maxLength) && maxLength > 0)) throw new CliUsageError(`--max-length must be a positive integer, got '${values['max-length']}'`)

  const progress = values.quiet ? undefined : new ProgressLine()
  const onProgress = (read: number, total: number): void => progress?.update(`siva data check: ${values.data} ${total > 0 ? Math.floor((100 * read) / total) : 100}%`)
  const report = await validateTextClassification(values.data, { task: task === 'classify' ? 'classification' : 'regression', columns, onProgress })
  const tokens = tokenizer && report.summary.columns.text ? await tokenLengths(values.data, report, tokenizer, maxLength, onProgress) : undefined
  const preview = await previewOf(values.data, report, tokenizer, maxLength)
  progress?.done()

  if (values.json) process.stdout.write(`${JSON.stringify({ ...report, tokens, preview })}\n`)
  else process.stdout.write(formatReport(report, tokens, preview))
  return report.usable ? 0 : 1
}

/** Rows as the model will see them: mapped columns, and token ids when a tokenizer is given. */
async function previewOf(file: string, report: ValidationReport, tokenizer: TextTokenizer | undefined, maxLength: number): Promise<PreviewRow[]> {
  const { text, textPair, label } = report.summary.columns
  const rows: PreviewRow[] = []
  for await (const record of readRecords(file, { onProblem: () => {} })) {
    const row: PreviewRow = { row: record.row, text: text ? record.fields[text] : undefined, label: label ? record.fields[label] : undefined }
    if (textPair) row.textPair = record.fields[textPair]
    if (tokenizer && typeof row.text === 'string') {
      const encoded = tokenizer.encode(row.text, { pair: typeof row.textPair === 'string' ? row.textPair : undefined, maxLength })
      row.tokens = encoded.fullLength
      row.ids = encoded.ids.slice(0, 16)
    }
    rows.push(row)
    if (rows.length === previewRows) break
  }
  return rows
}

/** Token lengths of every row with the checkpoint's tokenizer; rows over max_length become warnings. */
async function tokenLengths(file: string, report: ValidationReport, tokenizer: TextTokenizer, maxLength: number, onProgress: (read: number, total: number) => void): Promise<TokenStats> {
  const { text, textPair } = report.summary.columns
  const stats: TokenStats = { maxLength, min: Infinity, max: 0, mean: 0, tooLong: 0 }
  let count = 0
  let sum = 0
  for await (const record of readRecords(file, { onProblem: () => {}, onProgress })) {
    const first = record.fields[text!]
    if (typeof first !== 'string' || first.trim() === '') continue
    const second = textPair ? record.fields[textPair] : undefined
    const length = tokenizer.encode(first, { pair: typeof second === 'string' ? second : undefined }).fullLength
    count++
    sum += length
    stats.min = Math.min(stats.min, length)
    if (length > stats.max) {
      stats.max = length
      stats.longest = { row: record.row, tokens: length }
    }
    if (length > maxLength) stats.tooLong++
  }
  stats.mean = count > 0 ? sum / count : 0
  if (count === 0) stats.min = 0
  if (stats.tooLong > 0) {
    const problem: DataProblem = {
      file,
      row: stats.longest!.row,
      field: text,
      code: 'text-too-long',
      severity: 'warning',
      message: `${basename(file)}: ${plural(stats.tooLong, 'row is', 'rows are')} longer than ${maxLength} tokens and will be truncated (longest: row ${stats.longest!.row}, ${stats.longest!.tokens} tokens)`
    }
    report.problems.push(problem)
  }
  return stats
}

function formatReport(report: ValidationReport, tokens: TokenStats | undefined, preview: PreviewRow[]): string {
  const out: string[] = []
  const errors = report.problems.filter((p) => p.severity === 'error')
  const warnings = report.problems.filter((p) => p.severity === 'warning')
  const notes = report.problems.filter((p) => p.severity === 'info')
  out.push(`${report.file}: ${report.rows} rows, ${report.task}`)
  const c = report.summary.columns
  out.push(`columns: text = ${c.text ?? '?'}${c.textPair ? `, text pair = ${c.textPair}` : ''}, label = ${c.label ?? '?'}`)
  if (report.summary.classes) out.push(`classes (${report.summary.classes.length}): ${report.summary.classes.map((k) => `${k.label} ${k.count}`).join(', ')}`)
  if (report.summary.labels) out.push(`targets: min ${report.summary.labels.min}, max ${report.summary.labels.max}, mean ${report.summary.labels.mean.toPrecision(4)}`)
  const t = report.summary.textLength
  if (t) out.push(`text length (characters): min ${t.min}, mean ${t.mean.toFixed(1)}, max ${t.max}`)
  if (tokens) out.push(`tokens: min ${tokens.min}, mean ${tokens.mean.toFixed(1)}, max ${tokens.max}; ${plural(tokens.tooLong, 'row')} over ${tokens.maxLength}`)
  if (report.summary.duplicates.count > 0) out.push(`duplicates: ${report.summary.duplicates.count} rows repeat an earlier row`)
  for (const [title, list] of [['errors', errors], ['warnings', warnings], ['notes', notes]] as const) {
    if (list.length === 0) continue
    out.push('', `${title} (${list.length}):`)
    for (const p of list) out.push(`  ${p.message}`)
  }
  out.push('', `first ${preview.length} rows:`)
  for (const row of preview) {
    const text = typeof row.text === 'string' ? JSON.stringify(row.text.length > 60 ? `${row.text.slice(0, 60)}…` : row.text) : String(row.text)
    const pair = row.textPair === undefined ? '' : ` | ${JSON.stringify(row.textPair)}`
    const toks = row.tokens === undefined ? '' : `  (${plural(row.tokens, 'token')}: ${row.ids!.join(' ')}${row.tokens > row.ids!.length ? ' …' : ''})`
    out.push(`  row ${row.row}: ${text}${pair} → ${JSON.stringify(row.label)}${toks}`)
  }
  out.push('', report.usable ? 'usable: yes' : `usable: no — fix the ${plural(errors.length, 'error')} above`)
  return `${out.join('\n')}\n`
}
