import type { DataCheckResult, Params } from '../../shared/api'
import type { TrainConfig } from '../../shared/training'
import { labelNames, previewTextExamples, validateImageDataset, validateTextDataset, type TextTask, type ValidationReport } from '../engine/data'
import { describeTokenLimit, tokenLimit, type TokenLimit } from '../engine/data/tokenLimit'
import { loadRunTokenizer, modelTask } from '../engine/training/trainData'
import { RequestError } from './requestError'

/** A preview row as the Data step gets it (for chat data: the rendered conversation and its spans with loss). */
export type DataCheckPreviewRow = DataCheckResult['preview'][number]

/** Token counts of chat data: ids within the limit, those with loss, and conversations with none. */
export type DataCheckChatTokens = NonNullable<DataCheckResult['tokens']> & { kept: number; trained: number; untrainedRows: number }

/** Problems listed in one answer; the rest are counted. */
const listed = 200

/**
 * The Data step's check: validate a data file or image folder for a task (and the validation file, whose
 * labels must be training labels, as `siva data check --validation` checks it) and preview the first rows
 * as the model sees them. Token lengths are measured against the limit training will use (tokenLimit.ts).
 */
export async function checkData(p: Params<'checkData'>): Promise<DataCheckResult> {
  if (p.task === 'image-classify') {
    const columns = { ...(p.columns?.path && { path: p.columns.path }), ...(p.columns?.label && { label: p.columns.label }) }
    const report = await validateImageDataset(p.path, { columns })
    const validation = p.validation === undefined ? undefined : await validateImageDataset(p.validation, { columns, knownLabels: report.summary.classes?.map((c) => c.label) ?? [] })
    return checkResult(report, p.task, [], undefined, validation)
  }
  const task = p.task === 'classify' ? 'classification' : p.task === 'regress' ? 'regression' : 'causal-lm'
  const tokenizer = p.model ? await loadRunTokenizer(p.model, task) : undefined
  const limit = tokenizer && p.model ? await describeTokenLimit(p.maxLength, tokenizer, p.model, 'in the Token limit field') : undefined
  const options = {
    task,
    columns: p.columns ?? {},
    maxLength: limit?.maxLength ?? tokenLimit(p.maxLength, undefined),
    ...(limit && { maxLengthReason: limit.explanation }),
    ...(tokenizer && { tokenizer })
  } as const
  const report = await validateTextDataset(p.path, options)
  let validation: ValidationReport | undefined
  if (p.validation !== undefined) {
    const knownLabels = task === 'classification' ? labelNames((report.summary.classes ?? []).map((c) => c.label)) : undefined
    validation = await validateTextDataset(p.validation, { ...options, ...(knownLabels && { knownLabels }) })
  }
  const preview = (await previewTextExamples(p.path, options, 8)).map((example): DataCheckPreviewRow => ({
    row: example.row,
    // Chat data: the conversation as the checkpoint's template renders it (its contents, one per line, without a model).
    text: example.prompt !== undefined ? `${example.prompt} ⟶ ${example.text}` : example.text,
    ...(example.textPair !== undefined && { textPair: example.textPair }),
    ...(example.label !== undefined && { label: String(example.label) }),
    ...(example.tokens !== undefined && { tokens: example.tokens }),
    ...(example.messages !== undefined && { messages: example.messages }),
    ...(example.assistantSpans !== undefined && { assistantSpans: example.assistantSpans }),
    ...(example.trainedTokens !== undefined && { trainedTokens: example.trainedTokens })
  }))
  const result = checkResult(report, p.task, preview, limit, validation)
  const tokens = report.summary.tokens
  if (result.tokens && tokens?.trained !== undefined) {
    const chatTokens: DataCheckChatTokens = { ...result.tokens, kept: tokens.kept!, trained: tokens.trained, untrainedRows: tokens.untrainedRows ?? 0 }
    result.tokens = chatTokens
  }
  return result
}

function checkResult(report: ValidationReport, task: DataCheckResult['task'], preview: DataCheckResult['preview'], limit: TokenLimit | undefined, validation: ValidationReport | undefined): DataCheckResult {
  const own = fileSummary(report, limit)
  const result: DataCheckResult = {
    file: report.file,
    task,
    rows: report.rows,
    usable: report.usable && (validation?.usable ?? true),
    problems: own.problems,
    moreProblems: own.moreProblems,
    columns: { available: (report.summary.columns as { available?: string[] }).available ?? [], used: Object.fromEntries(Object.entries(report.summary.columns).filter(([, v]) => typeof v === 'string')) as Record<string, string> },
    ...(own.classes && { classes: own.classes }),
    ...(own.tokens && { tokens: own.tokens }),
    preview
  }
  if (validation) {
    const theirs = fileSummary(validation, limit)
    const known = new Set((report.summary.classes ?? []).map((c) => c.label))
    const unseen = report.summary.classes ? (theirs.classes ?? []).filter((c) => !known.has(c.label)) : []
    result.validation = { file: validation.file, rows: validation.rows, usable: validation.usable, ...theirs, ...(unseen.length > 0 && { unseen }) }
  }
  return result
}

/** What the Data step shows of one file: its problems (the first `listed`), classes and token lengths. */
function fileSummary(report: ValidationReport, limit: TokenLimit | undefined): Pick<DataCheckResult, 'problems' | 'moreProblems' | 'classes' | 'tokens'> {
  const summary = report.summary
  const tokens = summary.tokens
  return {
    problems: report.problems.slice(0, listed).map((p) => ({ severity: p.severity, code: p.code, message: p.message, ...(p.row !== undefined && { row: p.row }), ...(p.field !== undefined && { column: p.field }) })),
    moreProblems: Math.max(0, report.problems.length - listed),
    ...(summary.classes && { classes: summary.classes.map((c) => ({ label: c.label, count: c.count })) }),
    ...(tokens &&
      limit && {
        tokens: {
          maxLength: tokens.maxLength,
          tooLong: tokens.tooLong,
          mean: tokens.mean,
          max: tokens.max,
          limit: { source: limit.source, ...(limit.modelMaxLength !== undefined && { modelMaxLength: limit.modelMaxLength }), ...(limit.modelField !== undefined && { modelField: limit.modelField }), explanation: limit.explanation },
          histogram: tokens.histogram.map((b) => ({ from: b.from, to: b.to, count: b.count }))
        }
      })
  }
}

/** Errors named in a refusal; the Data step's check lists every one. */
const named = 3

/**
 * The gate every new run passes before its folder exists: its training data (and validation file, if
 * given) checked by the same validators as the Data step and the trainer's own preparation, and an
 * unusable one refused with the file and its first errors. The verdict does not depend on the tokenizer
 * (rows over max_length are warnings), so the check runs without it: one streaming pass that tokenises
 * nothing, where the Data step's check tokenises every row to count lengths.
 */
export async function refuseUnusableRunData(config: Pick<TrainConfig, 'data' | 'validation' | 'task' | 'columns'>): Promise<void> {
  if (config.task === 'image-classify') {
    const columns = { ...(config.columns?.path && { path: config.columns.path }), ...(config.columns?.label && { label: config.columns.label }) }
    const train = await validateImageDataset(config.data, { columns })
    refuseUnusable('data', train)
    if (config.validation !== undefined) refuseUnusable('validation', await validateImageDataset(config.validation, { columns, knownLabels: train.summary.classes?.map((c) => c.label) ?? [] }))
    return
  }
  const task = modelTask(config.task) as TextTask
  const options = { task, ...(config.columns && { columns: config.columns }) }
  const train = await validateTextDataset(config.data, options)
  refuseUnusable('data', train)
  if (config.validation === undefined) return
  // As `siva data check --validation`: a validation label the training data never has is an error.
  const knownLabels = task === 'classification' ? labelNames((train.summary.classes ?? []).map((c) => c.label)) : undefined
  refuseUnusable('validation', await validateTextDataset(config.validation, { ...options, ...(knownLabels && { knownLabels }) }))
}

function refuseUnusable(field: 'data' | 'validation', report: ValidationReport): void {
  if (report.usable) return
  const errors = report.problems.filter((p) => p.severity === 'error')
  const omitted = report.problems.some((p) => p.code === 'problems-omitted')
  const count = `${omitted ? 'more than ' : ''}${errors.length} error${errors.length === 1 && !omitted ? '' : 's'}`
  const shown = errors.slice(0, named)
  const first = shown.map((p) => p.message).join('; ')
  const which = errors.length === 1 && !omitted ? '' : shown.length === 1 ? ', the first' : `, the first ${shown.length}`
  throw new RequestError(`startRun: config.${field}: ${report.file} cannot be trained on: the data check found ${count}${which}: ${first}. Fix the ${field === 'data' ? 'training data' : 'validation file'} (the Data step lists every problem) and start again.`)
}
