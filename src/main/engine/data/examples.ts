import { checkMessages, chatProblem, conversationText, type ChatMessage } from './chatMessages'
import { ChatRenderError, ChatTemplateError, type ChatTemplate } from './chatTemplate'
import { resolveCausalColumns, resolveColumns, resolveMessagesColumn, type CausalColumnChoice, type ColumnChoice } from './columns'
import { classLabel, numericLabel } from './labels'
import { makeProblem, place, quote, type ProblemSink } from './problems'
import { formatOf, readRecords, type DataFormat } from './records'
import type { ValidationSummary } from './report'

/** The text tasks; images have their own reader. */
export type TextTask = 'classification' | 'regression' | 'causal-lm'

/**
 * One usable row of a text dataset, reduced to what a model needs. Every check on a single row's fields
 * happens on the way here, so validation, encoding and preview agree on which rows count.
 */
export interface TextExample {
  row: number
  /** The text (classification, regression), or the completion / plain text (causal LM). */
  text: string
  /** Second sentence of a pair. */
  pair?: string
  /** Causal LM: the prompt the completion continues; the model gets no loss on it. */
  prompt?: string
  /** Classification: the class, as text ("1" and 1 are one class). */
  label?: string
  /** Regression: the target. */
  target?: number
  /**
   * Chat data (causal LM with a `messages` column): the conversation as the file holds it. Until it is
   * rendered, `text` is its contents one per line (for lengths and duplicates).
   */
  messages?: ChatMessage[]
  /**
   * Chat data rendered with the checkpoint's template (ExampleReadOptions.chatTemplate): `text` is then the
   * rendering, and these are its assistant spans, [start, end) in characters, where the loss is.
   */
  chatSpans?: [number, number][]
}

export interface ExampleReadOptions {
  task: TextTask
  onProblem: ProblemSink
  /** Columns chosen by the user; the rest are detected from the usual names. */
  columns?: ColumnChoice & CausalColumnChoice
  format?: DataFormat
  delimiter?: string
  /** Plain text files: one example per paragraph instead of per line. */
  paragraphs?: boolean
  /** A folder of Parquet shards: the split to read (default train). */
  split?: 'train' | 'validation'
  /** Called once the columns are resolved, before the first example. */
  onColumns?: (columns: ValidationSummary['columns']) => void
  onProgress?: (bytesRead: number, totalBytes: number) => void
  signal?: AbortSignal
  /**
   * Chat data: the checkpoint's template (or a function that gives it, called only once a file turns out to
   * be chat data; a ChatTemplateError it throws is one error for the file). Conversations are then rendered
   * on the way, and one the template refuses is a problem of its row. Without it they are only checked.
   */
  chatTemplate?: ChatTemplate | (() => ChatTemplate)
}

/**
 * The usable examples of a CSV, TSV, JSON Lines, Parquet or plain-text file (or a folder of Parquet
 * shards), streamed. Rows that cannot be used
 * (empty text, missing or malformed label…) are reported to `onProblem` with their row and field and
 * skipped; nothing throws on bad data.
 */
export async function* readTextExamples(file: string, options: ExampleReadOptions): AsyncGenerator<TextExample> {
  const { task, onProblem } = options
  let textColumns: (string | undefined)[] = []
  let promptColumn: string | undefined
  let labelColumn: string | undefined
  let messagesColumn: string | undefined
  let template: ChatTemplate | undefined
  let resolved = false

  const records = readRecords(file, {
    onProblem,
    ...(options.format && { format: options.format }),
    ...(options.delimiter && { delimiter: options.delimiter }),
    ...(options.paragraphs !== undefined && { paragraphs: options.paragraphs }),
    ...(options.split && { split: options.split }),
    ...(options.onProgress && { onProgress: options.onProgress }),
    ...(options.signal && { signal: options.signal }),
    onColumns: (columns) => {
      resolved = true
      const headerRow = (options.format ?? formatOf(file)) === 'csv' ? 1 : undefined
      const chat = task === 'causal-lm' ? resolveMessagesColumn(file, columns, options.columns, headerRow) : undefined
      if (chat && (chat.column !== undefined || chat.problems.length > 0)) {
        chat.problems.forEach(onProblem)
        messagesColumn = chat.column
        if (messagesColumn !== undefined) {
          options.onColumns?.({ messages: messagesColumn })
          template = chatTemplateOf(file, options.chatTemplate, onProblem)
        }
      } else if (task === 'causal-lm') {
        const { mapping, problems } = resolveCausalColumns(file, columns, options.columns, headerRow)
        problems.forEach(onProblem)
        textColumns = [mapping.text]
        promptColumn = mapping.prompt
        options.onColumns?.(mapping.prompt === undefined ? { ...(mapping.text !== undefined && { text: mapping.text }) } : { prompt: mapping.prompt, ...(mapping.text !== undefined && { completion: mapping.text }) })
      } else {
        const { mapping, problems } = resolveColumns(file, columns, options.columns, headerRow)
        problems.forEach(onProblem)
        textColumns = [mapping.text, mapping.textPair]
        labelColumn = mapping.label
        options.onColumns?.(mapping)
      }
    }
  })

  for await (const { row, fields } of records) {
    if (resolved && messagesColumn !== undefined) {
      const example = chatExample(file, row, messagesColumn, fields[messagesColumn], template, onProblem)
      if (example) yield example
      continue
    }
    // A required column that could not be resolved is one error for the file, not one per row.
    if (!resolved || textColumns[0] === undefined || (task !== 'causal-lm' && labelColumn === undefined)) continue
    const at = place(file, row)
    let usable = true

    const texts: string[] = []
    for (const column of textColumns) {
      if (column === undefined) continue
      const value = checkText(file, row, column, fields[column], onProblem, task === 'causal-lm' && promptColumn !== undefined ? 'completion' : 'text')
      if (value === undefined) usable = false
      else texts.push(value)
    }
    let prompt: string | undefined
    if (promptColumn !== undefined) {
      const value = fields[promptColumn]
      // An empty prompt is allowed: the completion is then learned unconditioned.
      if (typeof value === 'string') prompt = value
      else {
        usable = false
        onProblem(makeProblem(file, 'text-not-string', 'error', `${at}: "${promptColumn}" should be text, found ${describeValue(value)}`, { row, field: promptColumn }))
      }
    }

    const example: TextExample = { row, text: texts[0] ?? '' }
    if (texts.length > 1) example.pair = texts[1]!
    if (prompt !== undefined) example.prompt = prompt
    if (labelColumn !== undefined) {
      const raw = fields[labelColumn]
      if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
        usable = false
        onProblem(makeProblem(file, 'label-missing', 'error', `${at}: no label in "${labelColumn}"`, { row, field: labelColumn }))
      } else if (task === 'regression') {
        const number = numericLabel(raw)
        if (!number.ok) {
          usable = false
          const found = typeof raw === 'string' ? quote(raw) : typeof raw === 'number' ? 'a number' : typeof raw === 'boolean' ? String(raw) : Array.isArray(raw) ? 'a list' : 'an object'
          const beyond = number.reason === 'out-of-range' ? `${typeof raw === 'string' ? ', which is' : ''} beyond the range of a 64-bit float` : ''
          onProblem(makeProblem(file, 'label-not-numeric', 'error', `${at}: "${labelColumn}" should be a number for regression, found ${found}${beyond}`, { row, field: labelColumn }))
        } else example.target = number.value
      } else {
        const label = classLabel(raw)
        if (label === undefined) {
          usable = false
          onProblem(makeProblem(file, 'label-not-scalar', 'error', `${at}: "${labelColumn}" should be one class name or number, found ${Array.isArray(raw) ? 'a list' : 'an object'}`, { row, field: labelColumn }))
        } else example.label = label
      }
    }
    if (usable) yield example
  }
}

/** The template for a chat file, or undefined (after one error for the file when the checkpoint has none). */
function chatTemplateOf(file: string, given: ExampleReadOptions['chatTemplate'], onProblem: ProblemSink): ChatTemplate | undefined {
  if (typeof given !== 'function') return given
  try {
    return given()
  } catch (error) {
    if (!(error instanceof ChatTemplateError)) throw error
    onProblem(chatProblem(file, 'chat-template-missing', 'error', `${place(file)} holds conversations, but ${error.message}`))
    return undefined
  }
}

/** One row of chat data: its conversation checked and, with a template, rendered; undefined after reporting why not. */
function chatExample(file: string, row: number, column: string, value: unknown, template: ChatTemplate | undefined, onProblem: ProblemSink): TextExample | undefined {
  const messages = checkMessages(file, row, column, value, onProblem)
  if (!messages) return undefined
  if (!template) return { row, text: conversationText(messages), messages }
  try {
    const rendered = template.renderForTraining(messages)
    if (rendered.spans.length === 0) {
      onProblem(chatProblem(file, 'chat-template-error', 'error', `${place(file, row)}: the chat template writes nothing for the assistant turns of "${column}", so there is nothing to learn`, { row, field: column }))
      return undefined
    }
    return { row, text: rendered.text, messages, chatSpans: rendered.spans }
  } catch (error) {
    if (!(error instanceof ChatRenderError)) throw error
    onProblem(chatProblem(file, 'chat-template-error', 'error', `${place(file, row)}: ${error.reason}`, { row, field: column }))
    return undefined
  }
}

/** The text of a field, or undefined after reporting why it cannot be used. */
function checkText(file: string, row: number, column: string, value: unknown, onProblem: ProblemSink, role: string): string | undefined {
  if (typeof value !== 'string') {
    onProblem(makeProblem(file, role === 'completion' ? 'completion-missing' : 'text-not-string', 'error', `${place(file, row)}: "${column}" should be text, found ${describeValue(value)}`, { row, field: column }))
    return undefined
  }
  if (value.trim() === '') {
    onProblem(makeProblem(file, role === 'completion' ? 'completion-empty' : 'text-empty', 'error', `${place(file, row)}: "${column}" is empty`, { row, field: column }))
    return undefined
  }
  return value
}

function describeValue(value: unknown): string {
  // A Parquet struct or map column arrives as an object, a list column as a list, a binary one as bytes.
  if (value instanceof Uint8Array) return 'binary data'
  return value === undefined ? 'nothing' : value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : `a ${typeof value}`
}
