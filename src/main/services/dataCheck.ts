import type { DataCheckResult, Params } from '../../shared/api'
import { previewTextExamples, validateImageDataset, validateTextDataset, type ValidationReport } from '../engine/data'
import { loadRunTokenizer } from '../engine/training/trainData'

/** Problems listed in one answer; the rest are counted. */
const listed = 200

/** The Data step's check: validate a data file or image folder for a task and preview its first rows as the model sees them. */
export async function checkData(p: Params<'checkData'>): Promise<DataCheckResult> {
  if (p.task === 'image-classify') {
    const columns = { ...(p.columns?.path && { path: p.columns.path }), ...(p.columns?.label && { label: p.columns.label }) }
    const report = await validateImageDataset(p.path, { columns })
    return checkResult(report, p.task, [])
  }
  const task = p.task === 'classify' ? 'classification' : p.task === 'regress' ? 'regression' : 'causal-lm'
  const tokenizer = p.model ? await loadRunTokenizer(p.model, task) : undefined
  const maxLength = p.maxLength ?? tokenizer?.modelMaxLength ?? 512
  const options = { task, columns: p.columns ?? {}, maxLength, ...(tokenizer && { tokenizer }) } as const
  const report = await validateTextDataset(p.path, options)
  const preview = (await previewTextExamples(p.path, options, 8)).map((example) => ({
    row: example.row,
    text: example.prompt !== undefined ? `${example.prompt} ⟶ ${example.text}` : example.text,
    ...(example.textPair !== undefined && { textPair: example.textPair }),
    ...(example.label !== undefined && { label: String(example.label) }),
    ...(example.tokens !== undefined && { tokens: example.tokens })
  }))
  return checkResult(report, p.task, preview)
}

function checkResult(report: ValidationReport, task: DataCheckResult['task'], preview: DataCheckResult['preview']): DataCheckResult {
  const summary = report.summary
  return {
    file: report.file,
    task,
    rows: report.rows,
    usable: report.usable,
    problems: report.problems.slice(0, listed).map((p) => ({ severity: p.severity, code: p.code, message: p.message, ...(p.row !== undefined && { row: p.row }), ...(p.field !== undefined && { column: p.field }) })),
    moreProblems: Math.max(0, report.problems.length - listed),
    columns: { available: (summary.columns as { available?: string[] }).available ?? [], used: Object.fromEntries(Object.entries(summary.columns).filter(([, v]) => typeof v === 'string')) as Record<string, string> },
    ...(summary.classes && { classes: summary.classes.map((c) => ({ label: c.label, count: c.count })) }),
    ...(summary.tokens && { tokens: { maxLength: summary.tokens.maxLength, tooLong: summary.tokens.tooLong, mean: summary.tokens.mean, max: summary.tokens.max } }),
    preview
  }
}
