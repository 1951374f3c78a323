import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomically } from '../io/atomicWrite'
import { EncodedDataset, encodeTextDataset, type EncodedDatasetMeta, type ParallelEncoding } from './encodedDataset'
import type { ExampleReadOptions, TextTask } from './examples'
import { labelNames, saveLabelMap } from './labelMap'
import { parquetSplits } from './parquetFolder'
import type { DataProblem } from './problems'
import type { ValidationReport } from './report'
import { stratifiedSplit } from './split'
import type { TextTokenizer } from './tokenizer'
import { validateTextDataset } from './validate'

/** The data cannot be trained on as it is; the report lists every problem. */
export class DataNotUsableError extends Error {
  override name = 'DataNotUsableError'
  constructor(readonly report: ValidationReport) {
    const errors = report.problems.filter((p) => p.severity === 'error')
    super(`${report.file}: ${errors.length} problem${errors.length === 1 ? '' : 's'} to fix before training, first: ${errors[0]?.message ?? '(none)'}`)
  }
}

export interface PrepareTextOptions {
  task: TextTask
  tokenizer: TextTokenizer
  maxLength: number
  /**
   * A separate validation file; without one, a dataset folder's validation split (parquetFolder.ts), else
   * `validationFraction` of the training rows (stratified).
   */
  validation?: string
  validationFraction?: number
  seed?: number
  columns?: ExampleReadOptions['columns']
  paragraphs?: boolean
  /** Causal LM: pack texts into full blocks (default for .txt-style plain text: no). */
  pack?: boolean
  onProgress?: (stage: 'checking' | 'encoding' | 'encoding validation', bytesRead: number, totalBytes: number) => void
  onProblem?: (problem: DataProblem) => void
  /** Worker threads the host offers for tokenising large files (src/main/workers/encodePool.ts). */
  parallel?: ParallelEncoding
  signal?: AbortSignal
}

/** One side of the split: an encoded dataset (`prefix`) and which of its examples belong here. */
export interface PreparedSplit {
  prefix: string
  indices: Uint32Array
}

export interface PreparedTextData {
  report: ValidationReport
  /** Classification: class names in id order (also in `labels.json`). */
  labels?: string[]
  train: PreparedSplit
  validation: PreparedSplit
  meta: { train: EncodedDatasetMeta; validation?: EncodedDatasetMeta }
}

/**
 * Everything a run needs from its data, written into `dir`: the training file checked (refused with
 * every problem when unusable), its labels numbered and saved as `labels.json`, the text tokenised once
 * into `train.*` (and `validation.*` for a given validation file), and the split in `split.json`, so a
 * resumed run sees exactly the same examples.
 */
export async function prepareTextData(file: string, dir: string, options: PrepareTextOptions): Promise<PreparedTextData> {
  const { task, tokenizer, maxLength } = options
  const seed = options.seed ?? 42
  await mkdir(dir, { recursive: true })
  const common = {
    ...(options.columns && { columns: options.columns }),
    ...(options.paragraphs !== undefined && { paragraphs: options.paragraphs }),
    ...(options.signal && { signal: options.signal })
  }
  // Chat rows the template refuses are refused here with every row listed, not at the first one while encoding.
  const checks = { ...common, chatTemplate: () => tokenizer.chatTemplate() }
  const progress = (stage: 'checking' | 'encoding' | 'encoding validation') => (read: number, total: number) => options.onProgress?.(stage, read, total)

  const report = await validateTextDataset(file, { ...checks, task, onProgress: progress('checking') })
  if (!report.usable) throw new DataNotUsableError(report)
  const labels = task === 'classification' ? labelNames((report.summary.classes ?? []).map((c) => c.label)) : undefined
  if (labels) await saveLabelMap(join(dir, 'labels.json'), labels)

  // A dataset folder's validation split stands in for a validation file, checked as `--validation` is
  // checked before a run starts (its labels must be training labels), before anything is encoded.
  const folderSplit = options.validation === undefined && (await hasValidationSplit(file))
  if (folderSplit) {
    const checked = await validateTextDataset(file, { ...checks, task, split: 'validation', ...(labels && { knownLabels: labels }) })
    if (!checked.usable) throw new DataNotUsableError({ ...checked, file: `${file} (its validation split)` })
  }

  const encode = { ...common, task, tokenizer, maxLength, ...(labels && { labels }), ...(options.pack !== undefined && { pack: options.pack }), ...(options.onProblem && { onProblem: options.onProblem }), ...(options.parallel && { parallel: options.parallel }) }
  const trainPrefix = join(dir, 'train')
  const trainMeta = await encodeTextDataset(file, trainPrefix, { ...encode, onProgress: progress('encoding') })

  let result: PreparedTextData
  if (options.validation !== undefined || folderSplit) {
    const validationPrefix = join(dir, 'validation')
    const validationFile = options.validation ?? file
    const validationMeta = await encodeTextDataset(validationFile, validationPrefix, { ...encode, ...(folderSplit && { split: 'validation' as const }), onProgress: progress('encoding validation') })
    result = {
      report,
      train: { prefix: trainPrefix, indices: range(trainMeta.examples) },
      validation: { prefix: validationPrefix, indices: range(validationMeta.examples) },
      meta: { train: trainMeta, validation: validationMeta }
    }
  } else {
    const dataset = await EncodedDataset.open(trainPrefix)
    const values = await dataset.labels().finally(() => dataset.close())
    // Packed blocks mix rows, and regression targets are not classes: both split plainly.
    const strata = Array.from(values, (value) => (task === 'classification' ? String(value) : undefined))
    const split = stratifiedSplit(strata, options.validationFraction ?? 0.1, seed)
    result = {
      report,
      train: { prefix: trainPrefix, indices: Uint32Array.from(split.train) },
      validation: { prefix: trainPrefix, indices: Uint32Array.from(split.validation) },
      meta: { train: trainMeta }
    }
  }
  if (labels) result.labels = labels
  const splitText = `${JSON.stringify({ seed, train: { prefix: 'train', count: result.train.indices.length }, validation: { prefix: result.validation.prefix === trainPrefix ? 'train' : 'validation', indices: [...result.validation.indices] } })}\n`
  await writeFileAtomically(join(dir, 'split.json'), (handle) => writeFile(handle, splitText))
  return result
}

/** A dataset folder with a validation split (data/validation-*.parquet, validation/…). */
async function hasValidationSplit(path: string): Promise<boolean> {
  if (!(await stat(path).then((info) => info.isDirectory(), () => false))) return false
  const splits = await parquetSplits(path)
  return typeof splits !== 'string' && splits.validation.length > 0
}

function range(count: number): Uint32Array {
  return Uint32Array.from({ length: count }, (_, i) => i)
}

/**
 * The prepared data of an earlier prepareTextData call in `dir`, without reading the source again (a
 * resumed run: its data fingerprint has already been checked). Undefined when anything is missing.
 */
export async function reopenPreparedText(dir: string): Promise<Omit<PreparedTextData, 'report'> | undefined> {
  let split: { train: { prefix: string; count: number }; validation: { prefix: string; indices: number[] } }
  try {
    split = JSON.parse(await readFile(join(dir, 'split.json'), 'utf8')) as typeof split
  } catch {
    return undefined
  }
  const trainPrefix = join(dir, split.train.prefix)
  const validationPrefix = join(dir, split.validation.prefix)
  let trainMeta: EncodedDatasetMeta
  let validationMeta: EncodedDatasetMeta | undefined
  try {
    trainMeta = JSON.parse(await readFile(`${trainPrefix}.json`, 'utf8')) as EncodedDatasetMeta
    if (validationPrefix !== trainPrefix) validationMeta = JSON.parse(await readFile(`${validationPrefix}.json`, 'utf8')) as EncodedDatasetMeta
  } catch {
    return undefined
  }
  const validation = Uint32Array.from(split.validation.indices)
  let train: Uint32Array
  if (validationPrefix === trainPrefix) {
    const held = new Set(split.validation.indices)
    train = Uint32Array.from({ length: trainMeta.examples }, (_, i) => i).filter((i) => !held.has(i))
  } else train = Uint32Array.from({ length: trainMeta.examples }, (_, i) => i)
  if (train.length !== split.train.count) return undefined
  const result: Omit<PreparedTextData, 'report'> = {
    train: { prefix: trainPrefix, indices: train },
    validation: { prefix: validationPrefix, indices: validation },
    meta: { train: trainMeta, ...(validationMeta && { validation: validationMeta }) }
  }
  if (trainMeta.labels) result.labels = trainMeta.labels
  return result
}

