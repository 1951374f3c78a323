import { basename, relative } from 'node:path'
import {
  labelNames,
  listImageDataset,
  loadImageProcessorConfig,
  readImageBytes,
  readImageHeader,
  validateImageDataset,
  type ImageProcessorConfig,
  previewTextExamples,
  validateTextDataset,
  type DataProblem,
  type LengthSummary,
  type PreviewExample,
  type TextTask,
  type ValidationReport
} from '../engine/data'
import { describeTokenLimit, tokenLimit, type TokenLimit } from '../engine/data/tokenLimit'
import { loadRunTokenizer } from '../engine/training/trainData'
import { commonFlags, jsonFlag, parseCommandArgs, plural, printedHelp } from './args'
import { CliUsageError } from './errors'
import { modelPath } from './modelArgument'
import { ProgressLine } from './progress'

const help = `usage: siva data check --data FILE|DIR --task TASK [options]

Reads the whole dataset once (streaming, whatever its size) and lists every problem with its file,
row (as a spreadsheet shows it) and column, then a summary and a preview of the first rows.
Exit status 0 when the data can be used for training, 1 when it cannot.

tasks:
  classify         text (or a sentence pair) and a class label; CSV, TSV, JSONL or Parquet
  regress          text (or a pair) and a number (e.g. a similarity score); CSV, TSV, JSONL or Parquet
  causal-lm        JSONL with prompt + completion (loss on the completion only) or text,
                   or a .txt file (one example per line, or per paragraph with --paragraphs);
                   or chat data: JSONL or Parquet with a messages column (each row a list of
                   {"role", "content"}), rendered with --model's chat_template (tokenizer_config.json),
                   loss on the assistant turns only
  image-classify   a folder with one sub-folder per class, or a CSV of path,label

options:
  --data FILE|DIR           the training data
  --task TASK               one of the tasks above
  --validation FILE         a separate validation file: checked too, and its labels must be
                            ones the training data has
  --model DIR|ID            a checkpoint folder, or a Hugging Face Hub id (org/name[@REVISION])
                            in the local Hugging Face cache (its config and tokenizer downloaded
                            first when missing): text is tokenised with its
                            tokenizer.json and rows longer than --max-length counted; images are
                            checked against its preprocessor_config.json
  --max-length N            token limit (default, as training: the tokenizer's model_max_length,
                            at most 512)
  --text-column NAME        the text column (default: text, sentence or content; for causal-lm
                            with a prompt, the completion column)
  --text-pair-column NAME   the second sentence of a pair (default: sentence2, text_b, … when present)
  --label-column NAME       the label column (default: label, labels or target)
  --prompt-column NAME      causal-lm: the prompt column (default: prompt or input, when present)
  --messages-column NAME    causal-lm chat data: the conversation column (default: messages)
  --path-column NAME        image-classify CSV: the image path column (default: path, image, file…)
  --paragraphs              causal-lm .txt: one example per paragraph instead of per line
  --json                    print exactly one JSON document on stdout
  --quiet                   no progress on stderr
  -h, --help                this help`

const previewRows = 5
const textTasks: Record<string, TextTask> = { classify: 'classification', regress: 'regression', 'causal-lm': 'causal-lm' }

export async function dataCheckCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('data check', {
    args: argv,
    allowPositionals: false,
    options: {
      data: { type: 'string' },
      task: { type: 'string' },
      validation: { type: 'string' },
      model: { type: 'string' },
      'max-length': { type: 'string' },
      'text-column': { type: 'string' },
      'text-pair-column': { type: 'string' },
      'label-column': { type: 'string' },
      'prompt-column': { type: 'string' },
      'messages-column': { type: 'string' },
      'path-column': { type: 'string' },
      paragraphs: { type: 'boolean', default: false },
      ...jsonFlag,
      ...commonFlags
    }
  })
  if (printedHelp(values, help)) return 0
  // A Hub id: its snapshot folder in the cache (only the tokenizer or the preprocessor is read).
  if (values.model !== undefined) values.model = await modelPath(values.model, { checkpoint: false, quiet: values.quiet === true })
  if (!values.data) throw new CliUsageError("data check needs --data FILE; see 'siva data check --help'")
  const taskName = values.task
  if (taskName === undefined) throw new CliUsageError('data check needs --task classify, regress, causal-lm or image-classify')
  if (taskName === 'image-classify') return imageCheck(values)
  const task = textTasks[taskName]
  if (task === undefined) throw new CliUsageError(`--task must be classify, regress, causal-lm or image-classify, got '${taskName}'`)
  const columns = {
    ...(values['text-column'] && { text: values['text-column'] }),
    ...(values['text-pair-column'] && { textPair: values['text-pair-column'] }),
    ...(values['label-column'] && { label: values['label-column'] }),
    ...(values['prompt-column'] && { prompt: values['prompt-column'] }),
    ...(values['messages-column'] && { messages: values['messages-column'] })
  }
  if (task === 'causal-lm' && (columns.textPair || columns.label)) throw new CliUsageError('causal-lm data has no pair or label columns; use --text-column and --prompt-column')
  if (task !== 'causal-lm' && (columns.prompt || columns.messages || values.paragraphs)) throw new CliUsageError('--prompt-column, --messages-column and --paragraphs are for --task causal-lm')
  if (columns.messages && (columns.prompt || columns.text)) throw new CliUsageError('--messages-column is chat data; it takes no --text-column or --prompt-column')
  if (values['path-column']) throw new CliUsageError('--path-column is for --task image-classify')
  const maxLengthText = values['max-length']
  const chosenMaxLength = maxLengthText === undefined ? undefined : Number(maxLengthText)
  if (chosenMaxLength !== undefined && !(Number.isInteger(chosenMaxLength) && chosenMaxLength > 1)) throw new CliUsageError(`--max-length must be an integer above 1, got '${maxLengthText}'`)

  const tokenizer = values.model ? await loadRunTokenizer(values.model, task) : undefined
  const limit = tokenizer && values.model ? await describeTokenLimit(chosenMaxLength, tokenizer, values.model, 'with --max-length') : undefined
  const progress = values.quiet ? undefined : new ProgressLine()
  const options = {
    task,
    columns,
    paragraphs: values.paragraphs,
    maxLength: limit?.maxLength ?? tokenLimit(chosenMaxLength, undefined),
    ...(limit && { maxLengthReason: limit.explanation }),
    ...(tokenizer && { tokenizer })
  }

  const report = await validateTextDataset(values.data, { ...options, onProgress: progressFor(progress, values.data) })
  let validation: ValidationReport | undefined
  if (values.validation) {
    const knownLabels = task === 'classification' && report.summary.classes ? labelNames(report.summary.classes.map((c) => c.label)) : undefined
    validation = await validateTextDataset(values.validation, { ...options, ...(knownLabels && { knownLabels }), onProgress: progressFor(progress, values.validation) })
  }
  const preview = await previewTextExamples(values.data, options, previewRows)
  progress?.done()

  const usable = report.usable && (validation?.usable ?? true)
  if (values.json) process.stdout.write(`${JSON.stringify({ ...report, preview, ...(limit && { tokenLimit: limit }), ...(validation && { validation }), usable })}\n`)
  else {
    process.stdout.write(`${formatReport(report, preview, limit)}${closing(report, validation)}`)
  }
  return usable ? 0 : 1
}

interface ImageCheckArgs {
  data?: string | undefined
  validation?: string | undefined
  model?: string | undefined
  'path-column'?: string | undefined
  'label-column'?: string | undefined
  'text-column'?: string | undefined
  'max-length'?: string | undefined
  json?: boolean | undefined
  quiet?: boolean | undefined
}

interface ImagePreviewRow {
  row?: number
  path: string
  label: string
  size?: string
  problem?: string
}

/** Image folders and path,label CSVs: every image decoded once; the preview shows what the model will be fed. */
async function imageCheck(values: ImageCheckArgs): Promise<number> {
  const data = values.data!
  if (values['text-column'] || values['max-length']) throw new CliUsageError('--text-column and --max-length are for text tasks; image CSVs take --path-column and --label-column')
  const columns = { ...(values['path-column'] && { path: values['path-column'] }), ...(values['label-column'] && { label: values['label-column'] }) }
  const config = values.model ? await loadImageProcessorConfig(values.model) : undefined
  const progress = values.quiet ? undefined : new ProgressLine()
  const onProgress = (file: string): ((done: number, total: number) => void) | undefined => progressFor(progress, file, (done, total) => `${done}/${total} images`)
  const report = await validateImageDataset(data, { columns, onProgress: onProgress(data) })
  let validation: ValidationReport | undefined
  if (values.validation) {
    const knownLabels = report.summary.classes?.map((c) => c.label) ?? []
    validation = await validateImageDataset(values.validation, { columns, knownLabels, onProgress: onProgress(values.validation) })
  }
  const preview = await imagePreview(data, columns)
  progress?.done()

  const usable = report.usable && (validation?.usable ?? true)
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...report, preview, ...(config && { preprocessing: config }), ...(validation && { validation }), usable })}\n`)
    return usable ? 0 : 1
  }
  const lines = [formatReport(report, undefined).trimEnd()]
  if (config) lines.push('', describePreprocessing(config))
  lines.push('', preview.length === 0 ? 'no images to preview' : `first ${plural(preview.length, 'image')}:`)
  for (const row of preview) lines.push(`  ${row.row === undefined ? '' : `row ${row.row}: `}${row.path} → ${JSON.stringify(row.label)}  (${row.size ?? row.problem})`)
  const text = `${lines.join('\n')}\n${closing(report, validation)}`
  process.stdout.write(text)
  return usable ? 0 : 1
}

async function imagePreview(source: string, columns: object): Promise<ImagePreviewRow[]> {
  const listing = await listImageDataset(source, { onProblem: () => {}, columns })
  const root = listing.layout === 'csv' ? relative(process.cwd(), source).replace(/[^/\\]*$/, '') : source
  const rows: ImagePreviewRow[] = []
  for (const entry of listing.entries.slice(0, previewRows)) {
    const row: ImagePreviewRow = { path: relative(root || '.', entry.path) || entry.path, label: entry.label }
    if (entry.row !== undefined) row.row = entry.row
    try {
      const header = await readImageHeader(await readImageBytes(entry.path), entry.path)
      row.size = `${header.format} ${header.width}×${header.height}`
    } catch (error) {
      row.problem = error instanceof Error ? error.message : String(error)
    }
    rows.push(row)
  }
  return rows
}

function describePreprocessing(config: ImageProcessorConfig): string {
  const steps = [config.doResize ? `resized to ${config.width}×${config.height} (${config.resample})` : 'not resized']
  if (config.doRescale) steps.push(`scaled by ${config.rescaleFactor === 1 / 255 ? '1/255' : config.rescaleFactor}`)
  if (config.doNormalize) steps.push(`normalised with mean [${config.imageMean.join(', ')}] and std [${config.imageStd.join(', ')}]`)
  return `preprocessing (from ${config.source}): ${steps.join(', ')}`
}

/** Progress on stderr, at most once per percent so a log of a large file stays short. */
function progressFor(progress: ProgressLine | undefined, file: string, describe: (done: number, total: number, percent: number) => string = (_d, _t, percent) => `${percent}%`): ((done: number, total: number) => void) | undefined {
  if (!progress) return undefined
  let last = -1
  return (done, total) => {
    const percent = total > 0 ? Math.floor((100 * done) / total) : 100
    if (percent === last) return
    last = percent
    progress.update(`siva data check: ${basename(file)} ${describe(done, total, percent)}`)
  }
}

/** The validation file's report, if any, and the verdict on both. */
function closing(report: ValidationReport, validation: ValidationReport | undefined): string {
  const usable = report.usable && (validation?.usable ?? true)
  const errors = errorCount(report) + (validation ? errorCount(validation) : 0)
  const validationText = validation ? `\nvalidation data:\n${formatReport(validation, undefined)}` : ''
  return `${validationText}\n${usable ? 'usable: yes' : `usable: no — fix the ${plural(errors, 'error')} above`}\n`
}

/** The first examples as the model will see them: the same reader training uses, token ids when a tokenizer is given. */

const errorCount = (report: ValidationReport): number => report.problems.filter((p) => p.severity === 'error').length

function formatReport(report: ValidationReport, preview: PreviewExample[] | undefined, limit?: TokenLimit): string {
  const out: string[] = []
  const bySeverity = (severity: DataProblem['severity']): DataProblem[] => report.problems.filter((p) => p.severity === severity)
  const { summary } = report
  out.push(`${report.file}: ${report.task === 'image-classification' ? plural(report.rows, 'image') : plural(report.rows, 'usable row')}, ${report.task}`)
  const c = summary.columns
  const named = Object.entries({ conversation: c.messages, prompt: c.prompt, completion: c.completion, text: c.text, 'text pair': c.textPair, 'image path': c.path, label: c.label }).filter(([, v]) => v !== undefined)
  if (named.length > 0) out.push(`columns: ${named.map(([role, column]) => `${role} = ${column}`).join(', ')}`)
  if (summary.classes && summary.classes.length > 0) {
    const shown = summary.classes.slice(0, 20).map((k) => `${k.label} ${k.count}`)
    out.push(`classes (${summary.classes.length}): ${shown.join(', ')}${summary.classes.length > 20 ? ', …' : ''}`)
  }
  if (summary.labels) out.push(`targets: min ${summary.labels.min}, max ${summary.labels.max}, mean ${summary.labels.mean.toPrecision(4)}`)
  if (summary.textLength && report.rows > 0) out.push(`length in characters: min ${summary.textLength.min}, mean ${summary.textLength.mean.toFixed(1)}, max ${summary.textLength.max}`)
  if (summary.tokens && report.rows > 0) {
    const t = summary.tokens
    out.push(`length in tokens: min ${t.min}, mean ${t.mean.toFixed(1)}, max ${t.max}; ${plural(t.tooLong, 'row')} over ${t.maxLength}`)
    if (t.trained !== undefined && t.kept !== undefined) {
      const none = t.untrainedRows ? `; ${plural(t.untrainedRows, 'conversation')} with none within the limit` : ''
      const share = t.kept > 0 ? `, ${((100 * t.trained) / t.kept).toFixed(1)}%` : ''
      out.push(`tokens trained on: ${plural(t.kept, 'token')} within the limit, ${t.trained} of them with loss (the assistant turns${share})${none}`)
    }
    if (limit) out.push(`token limit: ${limit.explanation}`)
    out.push(...histogramLines(t))
  }
  if (summary.images && summary.images.count > 0) {
    const i = summary.images
    const formats = Object.entries(i.formats).map(([format, count]) => `${format} ${count}`).join(', ')
    out.push(`image sizes: ${i.minWidth}×${i.minHeight} to ${i.maxWidth}×${i.maxHeight}; ${formats}`)
  }
  if (summary.duplicates.count > 0) {
    const what = report.task === 'image-classification' ? ['image repeats an earlier one', 'images repeat earlier ones'] : ['row repeats an earlier row', 'rows repeat an earlier row']
    out.push(`duplicates: ${summary.duplicates.count} ${summary.duplicates.count === 1 ? what[0] : what[1]}`)
  }
  for (const [title, list] of [['errors', bySeverity('error')], ['warnings', bySeverity('warning')], ['notes', bySeverity('info')]] as const) {
    if (list.length === 0) continue
    out.push('', `${title} (${list.length}):`)
    for (const p of list) out.push(`  ${p.message}`)
  }
  if (preview) {
    out.push('', preview.length === 0 ? 'no usable rows to preview' : `first ${plural(preview.length, 'usable row')}:`)
    if (preview.some((row) => row.assistantSpans)) out.push(`  (rendered with the checkpoint's chat template; ${spanOpen}…${spanClose} marks what the loss is on)`)
    for (const row of preview) out.push(...(row.messages === undefined ? [`  ${previewLine(row)}`] : chatPreviewLines(row)))
  }
  return `${out.join('\n')}\n`
}

function previewLine(row: PreviewExample): string {
  const short = (text: string): string => JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)
  const prompt = row.prompt === undefined ? '' : `${short(row.prompt)} ⇒ `
  const pair = row.textPair === undefined ? '' : ` | ${short(row.textPair)}`
  const label = row.label === undefined ? '' : ` → ${JSON.stringify(row.label)}`
  const tokens = row.tokens === undefined ? '' : `  (${plural(row.tokens, 'token')}: ${row.ids!.join(' ')}${row.tokens > row.ids!.length ? ' …' : ''})`
  return `row ${row.row}: ${prompt}${short(row.text)}${pair}${label}${tokens}`
}

/** Around the taught text in a chat preview: characters that chat templates do not write. */
const spanOpen = '⟦'
const spanClose = '⟧'
/** Characters of a rendered conversation shown per row: enough for a few turns. */
const chatPreviewCharacters = 800

/** A conversation as the model reads it, one template line per line, its assistant spans marked. */
function chatPreviewLines(row: PreviewExample): string[] {
  const counts = [plural(row.messages!, 'message')]
  if (row.tokens !== undefined) counts.push(plural(row.tokens, 'token'))
  if (row.trainedTokens !== undefined) counts.push(`${row.trainedTokens} with loss`)
  if (!row.assistantSpans) {
    // No --model (or no template): the contents only, as the file has them.
    return [`  row ${row.row}: ${counts.join(', ')} (give --model to see it rendered with the checkpoint's chat template)`, ...row.text.split('\n').slice(0, 6).map((line) => `    │${line}`)]
  }
  const end = Math.min(row.text.length, chatPreviewCharacters)
  let marked = ''
  let at = 0
  for (const [start, stop] of row.assistantSpans) {
    if (start >= end) break
    marked += `${row.text.slice(at, start)}${spanOpen}${row.text.slice(start, Math.min(stop, end))}${stop <= end ? spanClose : ''}`
    at = Math.min(stop, end)
  }
  marked += row.text.slice(at, end)
  const more = end < row.text.length || row.textLength !== undefined ? ` …(${(row.textLength ?? row.text.length) - end} more characters)` : ''
  // A template's final newline would show as an empty last line.
  return [`  row ${row.row}: ${counts.join(', ')}`, ...`${marked}${more}`.replace(/\n$/, '').split('\n').map((line) => `    │${line}`)]
}

/** The token-length histogram as text bars, so the long tail is visible at a glance. */
function histogramLines(summary: LengthSummary): string[] {
  const buckets = summary.histogram.filter((b) => b.count > 0)
  const most = Math.max(...buckets.map((b) => b.count))
  return buckets.map((b) => `  ${`${b.from}–${b.to - 1}`.padStart(11)} ${'█'.repeat(Math.max(1, Math.round((30 * b.count) / most)))} ${b.count}`)
}
