import { stat } from 'node:fs/promises'
import { chatProblem } from './chatMessages'
import { DuplicateFinder } from './duplicates'
import { encodeExamples, type EncodedExample } from './encodeExample'
import { readTextExamples, type ExampleReadOptions, type TextExample, type TextTask } from './examples'
import { characterCount, LengthHistogram } from './lengthHistogram'
import { ClassTally, maxClasses, NumericTally } from './labels'
import { ProblemLog } from './problemLog'
import { describeSplits, parquetSplits } from './parquetFolder'
import { makeProblem, place, quote } from './problems'
import type { DataFormat } from './records'
import type { TokenSummary, ValidationReport, ValidationSummary } from './report'
import { tokenLimit } from './tokenLimit'
import type { TextTokenizer } from './tokenizer'

export interface ValidateOptions {
  /** Default classification. */
  task?: TextTask
  columns?: ExampleReadOptions['columns']
  /** Labels seen in training: a validation file's label outside them is an error. */
  knownLabels?: Iterable<string>
  format?: DataFormat
  delimiter?: string
  /** Plain text for causal LM: one example per paragraph instead of per line. */
  paragraphs?: boolean
  /** A folder of Parquet shards: the split to check (default train). */
  split?: 'train' | 'validation'
  /**
   * The checkpoint's tokenizer: every row is tokenised in the same pass and rows over maxLength counted;
   * chat data is rendered with its chat template (a checkpoint without one is an error for chat data).
   */
  tokenizer?: TextTokenizer
  /**
   * Chat data without tokenising: render every conversation with this template (or the function's), so
   * that rows it refuses are found (the tokenizer's is used when a tokenizer is given).
   */
  chatTemplate?: ExampleReadOptions['chatTemplate']
  /** Token limit; default as training's (tokenLimit.ts): the tokenizer's model_max_length, at most 512. */
  maxLength?: number
  /** Said after the count of rows over the limit: where the limit comes from (describeTokenLimit). */
  maxLengthReason?: string
  /** Problems kept per code (default 100); the report says how many more there were. */
  maxProblemsPerCode?: number
  onProgress?: (bytesRead: number, totalBytes: number) => void
  signal?: AbortSignal
}

/** A batch of rows tokenised together: bounded in rows and in text held (long documents). */
const tokeniseBatchRows = 256
const tokeniseBatchCharacters = 1 << 20

/**
 * Check a text dataset in one streaming pass and report every problem: the reader's (encoding, quoting,
 * JSON), missing columns, empty or non-text text, missing or bad labels, single-example classes, labels
 * unknown to training, exact duplicate rows and, with a tokenizer, rows longer than the model takes.
 */
export async function validateTextDataset(file: string, options: ValidateOptions = {}): Promise<ValidationReport> {
  const task = options.task ?? 'classification'
  const log = new ProblemLog(options.maxProblemsPerCode)
  const known = options.knownLabels === undefined ? undefined : new Set(options.knownLabels)
  let columns: ValidationSummary['columns'] = {}
  const lengths = new LengthHistogram()
  const tokens = options.tokenizer ? new TokenTally(tokenLimit(options.maxLength, options.tokenizer.modelMaxLength)) : undefined
  const classes = new ClassTally()
  const numbers = new NumericTally()
  const duplicates = new DuplicateFinder()
  const unseen = new Map<string, { row: number; count: number }>()
  let rows = 0
  if (options.split !== 'validation' && options.format === undefined && (await stat(file).then((info) => info.isDirectory(), () => false))) {
    // A dataset folder: say which files are which split, and that its validation split stands in for --validation.
    const splits = await parquetSplits(file)
    if (typeof splits !== 'string') log.add(makeProblem(file, 'column-detected', 'info', describeSplits(file, splits)))
  }

  const tokenizer = options.tokenizer
  const chatTemplate = options.chatTemplate ?? (tokenizer && (() => tokenizer.chatTemplate()))
  const examples = readTextExamples(file, {
    task,
    ...(chatTemplate && { chatTemplate }),
    onProblem: (problem) => {
      // Every record with a problem of its own is still a row of the file.
      log.add(problem)
    },
    onColumns: (resolved) => (columns = resolved),
    ...(options.columns && { columns: options.columns }),
    ...(options.format && { format: options.format }),
    ...(options.delimiter && { delimiter: options.delimiter }),
    ...(options.paragraphs !== undefined && { paragraphs: options.paragraphs }),
    ...(options.split && { split: options.split }),
    ...(options.onProgress && { onProgress: options.onProgress }),
    ...(options.signal && { signal: options.signal })
  })

  // Rows are tokenised in batches (the native engine takes each as one call), tallied in row order.
  let pending: TextExample[] = []
  let pendingCharacters = 0
  const tokenisePending = async (): Promise<void> => {
    if (!tokens || pending.length === 0) return
    const batch = pending
    pending = []
    pendingCharacters = 0
    const encoded = await encodeExamples(options.tokenizer!, task, batch, tokens.maxLength)
    encoded.forEach((e, i) => tokens.add(batch[i]!, e.fullLength, e.partial, e))
  }
  for await (const example of examples) {
    rows++
    const characters = characterCount(example.text) + (example.pair === undefined ? 0 : characterCount(example.pair)) + (example.prompt === undefined ? 0 : characterCount(example.prompt))
    lengths.add(characters)
    // A conversation the checkpoint cannot render (no template: one error for the file) is not tokenised.
    if (tokens && !(example.messages && !example.chatSpans)) {
      pending.push(example)
      pendingCharacters += characters
      if (pending.length >= tokeniseBatchRows || pendingCharacters >= tokeniseBatchCharacters) await tokenisePending()
    }
    if (example.label !== undefined) {
      classes.add(example.label, example.row)
      if (known && !known.has(example.label)) {
        const seen = unseen.get(example.label)
        if (seen) seen.count++
        else unseen.set(example.label, { row: example.row, count: 1 })
      }
    }
    if (example.target !== undefined) numbers.add(example.target)
    duplicates.add(example.row, example.messages ? [JSON.stringify(example.messages)] : [example.prompt ?? null, example.text, example.pair ?? null, example.label ?? example.target ?? null])
  }

  await tokenisePending()

  if (rows === 0 && !log.hasErrors) log.add(makeProblem(file, 'no-records', 'error', `${place(file)}: no records to train on`))
  const labelField = columns.label === undefined ? {} : { field: columns.label }
  const classCounts = task === 'classification' ? classes.counts() : undefined
  for (const { label, count, firstRow } of classCounts ?? []) {
    if (count === 1) {
      log.add(
        makeProblem(file, 'class-single-example', 'warning', `${place(file, firstRow)}: class ${quote(label)} has only this one example; a model cannot learn it or be tested on it`, {
          row: firstRow,
          ...labelField
        })
      )
    }
  }
  if (classCounts && classCounts.length === 1 && rows > 1) {
    log.add(makeProblem(file, 'single-class', 'warning', `${place(file)}: every row has the label ${quote(classCounts[0]!.label)}; a classifier needs at least two classes`, labelField))
  }
  if (classes.overflowed) {
    log.add(makeProblem(file, 'too-many-classes', 'warning', `${place(file)}: more than ${maxClasses} different labels; is "${columns.label}" the label column, or is this regression?`))
  }
  for (const [label, { row, count }] of unseen) {
    log.add(makeProblem(file, 'label-unseen', 'error', `${place(file, row)}: label ${quote(label)} is not among the training labels (${count} row${count === 1 ? '' : 's'})`, { row, ...labelField }))
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
  const tokenSummary = tokens?.summary()
  const untrained = tokens?.firstUntrained
  if (untrained) {
    const count = tokenSummary!.untrainedRows!
    log.add(
      chatProblem(file, 'chat-no-assistant', 'warning', `${place(file, untrained)}: ${count === 1 ? 'this conversation has' : `${count} conversations (this the first) have`} no assistant token within the first ${tokenSummary!.maxLength} tokens, so ${count === 1 ? 'it teaches' : 'they teach'} nothing${options.maxLengthReason ? `. ${options.maxLengthReason}` : ''}`, {
        row: untrained,
        ...(columns.messages !== undefined && { field: columns.messages })
      })
    )
  }
  if (tokenSummary && tokenSummary.tooLong > 0) {
    const { longest, tooLong, maxLength } = tokenSummary
    const field = task === 'causal-lm' ? (columns.messages ?? columns.completion ?? columns.text) : columns.text
    const cut = task === 'causal-lm' ? 'will lose their end' : 'will be truncated'
    log.add(
      makeProblem(file, 'text-too-long', 'warning', `${place(file)}: ${tooLong} row${tooLong === 1 ? ' is' : 's are'} longer than ${maxLength} tokens and ${cut} (longest: row ${longest!.row}, ${longest!.atLeast ? `at least ${longest!.tokens} tokens; only its start was tokenised` : `${longest!.tokens} tokens`})${options.maxLengthReason ? `. ${options.maxLengthReason}` : ''}`, {
        row: longest!.row,
        ...(field !== undefined && { field })
      })
    )
  }

  const summary: ValidationSummary = { columns, textLength: lengths.summary(), duplicates: duplicateSummary }
  if (classCounts) summary.classes = classCounts
  const numeric = numbers.summary()
  if (task === 'regression' && numeric) summary.labels = numeric
  if (tokenSummary) summary.tokens = tokenSummary
  return { file, task, rows, problems: log.finish(file), summary, usable: !log.hasErrors }
}

/** Token lengths in one pass with fixed memory: histogram, rows over the limit, and the longest row. */
class TokenTally {
  /** Split at maxLength + 1: the buckets from there on hold exactly the rows counted in tooLong. */
  private readonly histogram: LengthHistogram
  private tooLong = 0
  private longest: { row: number; tokens: number; atLeast?: true } | undefined
  private kept = 0
  private trained: number | undefined
  private untrained = 0
  /** The first conversation with no loss left after the limit. */
  firstUntrained: number | undefined

  constructor(readonly maxLength: number) {
    this.histogram = new LengthHistogram(maxLength + 1)
  }

  /** `partial`: `length` is a lower bound (only the part max_length can use was tokenised). */
  add(example: TextExample, length: number, partial = false, encoded?: EncodedExample): void {
    if (encoded) {
      this.kept += encoded.ids.length
      if (encoded.lossSpans) {
        const trained = encoded.lossSpans.reduce((sum, [start, end]) => sum + end - start, 0)
        this.trained = (this.trained ?? 0) + trained
        if (trained === 0 && this.untrained++ === 0) this.firstUntrained = example.row
      }
    }
    this.histogram.add(length)
    if (length > this.maxLength) this.tooLong++
    if (this.longest === undefined || length > this.longest.tokens) this.longest = { row: example.row, tokens: length, ...(partial && { atLeast: true as const }) }
  }

  summary(): TokenSummary {
    return {
      ...this.histogram.summary(),
      maxLength: this.maxLength,
      tooLong: this.tooLong,
      ...(this.longest && { longest: this.longest }),
      ...(this.trained !== undefined && { kept: this.kept, trained: this.trained, untrainedRows: this.untrained })
    }
  }
}
