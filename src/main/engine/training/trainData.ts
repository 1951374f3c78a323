import { join } from 'node:path'
import { EncodedDataset, imageBatches, type ParallelEncoding, loadImageProcessorConfig, prepareImageData, prepareTextData, reopenPreparedImages, reopenPreparedText, TextTokenizer, type ImageEntry } from '../data'
import { checkpointFolder } from '../data/checkpointFolder'
import { tokenLimit } from '../data/tokenLimit'
import { readModelConfig } from '../io/hfConfig'
import { familyFor, poolsAtPadId } from '../models/registry'
import type { ModelInputs, ModelTask } from '../models/types'
import type { TrainConfig } from '../../../shared/training'

/**
 * The tokenizer a text run on `model` encodes with: the checkpoint's own, except that where transformers'
 * sequence classifier pools at the pad id (GPT-2: models/registry.ts, poolsAtPadId) special tokens written
 * in a text are read as plain text, as the export's tokenizer_config.json then tells transformers to do.
 * Training, `siva data check` and the Data step all use it, so their token counts agree.
 */
export async function loadRunTokenizer(model: string, task: ModelTask): Promise<TextTokenizer> {
  let splitSpecialTokens = false
  try {
    const family = familyFor(await readModelConfig(await checkpointFolder(model)), model)
    splitSpecialTokens = poolsAtPadId(family, task)
  } catch {
    // Not a family training reads (or no config.json): the tokenizer alone decides; training says why it cannot run.
  }
  return TextTokenizer.load(model, splitSpecialTokens ? { splitSpecialTokens: true } : {})
}

/** One batch as the loop consumes it: model inputs and the labels the loss needs. */
export interface TrainBatch {
  inputs: ModelInputs
  /** Class ids (int32), targets (float32) or, for causal LM, [batch, length] next-token ids with -100. */
  labels: Int32Array | Float32Array
  labelShape: number[]
}

/** Examples of one side of the split, read batch by batch in any order. */
export interface BatchSource {
  size: number
  batches(order: ArrayLike<number>, batchSize: number, signal?: AbortSignal): AsyncGenerator<TrainBatch>
}

export interface TrainData {
  train: BatchSource
  validation: BatchSource
  /** Classification: class names in id order. */
  labels?: string[]
  numLabels?: number
  /** Text: the token limit batches are cut to (the memory estimate's length). */
  maxLength?: number
  close(): Promise<void>
}

export function modelTask(task: TrainConfig['task']): ModelTask {
  return task === 'classify' ? 'classification' : task === 'regress' ? 'regression' : task === 'causal-lm' ? 'causal-lm' : 'image-classification'
}

/**
 * Check, encode and split the run's data into `runDir/data` (text: tokenised once with the checkpoint's
 * tokenizer; images: checked, listed and split) and open it for batching. Unusable data throws
 * DataNotUsableError carrying the full report.
 */
export async function openTrainData(config: TrainConfig, runDir: string, options: { signal?: AbortSignal; onStage?: (done: number, total: number, detail: string) => void; reuse?: boolean; parallel?: ParallelEncoding } = {}): Promise<TrainData> {
  const dir = join(runDir, 'data')
  const seed = config.seed
  if (config.task === 'image-classify') {
    const processor = await loadImageProcessorConfig(config.model)
    const reused = options.reuse ? await reopenPreparedImages(dir) : undefined
    const prepared = reused ?? await prepareImageData(config.data, dir, {
      ...(config.validation !== undefined && { validation: config.validation }),
      validationFraction: config.validationFraction,
      seed,
      ...(config.columns?.path !== undefined || config.columns?.label !== undefined ? { columns: { ...(config.columns.path && { path: config.columns.path }), ...(config.columns.label && { label: config.columns.label }) } } : {}),
      ...(options.signal && { signal: options.signal }),
      onProgress: (stage, done, total) => options.onStage?.(done, total, stage)
    })
    const source = (entries: ImageEntry[]): BatchSource => ({
      size: entries.length,
      async *batches(order, batchSize, signal) {
        for await (const batch of imageBatches(entries, processor, { batchSize, labelIds: prepared.labelIds, order, ...(signal && { signal }) })) {
          yield { inputs: { batchSize: batch.size, pixels: batch.pixels }, labels: batch.labels, labelShape: [batch.size] }
        }
      }
    })
    return { train: source(prepared.train), validation: source(prepared.validation), labels: prepared.labels, numLabels: prepared.labels.length, close: async () => {} }
  }

  const tokenizer = await loadRunTokenizer(config.model, modelTask(config.task))
  const maxLength = tokenLimit(config.maxLength, tokenizer.modelMaxLength)
  const task = config.task === 'classify' ? 'classification' : config.task === 'regress' ? 'regression' : 'causal-lm'
  // A resumed run (its data fingerprint checked) reads its encoded data back instead of tokenising again.
  const reused = options.reuse ? await reopenPreparedText(dir) : undefined
  const prepared = reused ?? await prepareTextData(config.data, dir, {
    task,
    tokenizer,
    maxLength,
    seed,
    validationFraction: config.validationFraction,
    ...(config.validation !== undefined && { validation: config.validation }),
    ...(config.columns && { columns: config.columns }),
    ...(config.pack !== undefined && { pack: config.pack }),
    ...(options.signal && { signal: options.signal }),
    ...(options.parallel && { parallel: options.parallel }),
    onProgress: (stage, read, total) => options.onStage?.(read, total, stage)
  })
  const trainSet = await EncodedDataset.open(prepared.train.prefix)
  const validationSet = prepared.validation.prefix === prepared.train.prefix ? trainSet : await EncodedDataset.open(prepared.validation.prefix)
  const source = (dataset: EncodedDataset, indices: Uint32Array): BatchSource => ({
    size: indices.length,
    async *batches(order, batchSize, signal) {
      const picked = Uint32Array.from(order, (i) => indices[i]!)
      for await (const batch of dataset.batches(picked, { batchSize, ...(signal && { signal }) })) {
        const inputs: ModelInputs = { batchSize: batch.size, length: batch.length, inputIds: batch.inputIds, attentionMask: batch.attentionMask, tokenTypeIds: batch.tokenTypeIds }
        yield { inputs, labels: batch.labels, labelShape: task === 'causal-lm' ? [batch.size, batch.length] : [batch.size] }
      }
    }
  })
  const data: TrainData = {
    train: source(trainSet, prepared.train.indices),
    validation: source(validationSet, prepared.validation.indices),
    maxLength,
    close: async () => {
      await trainSet.close()
      if (validationSet !== trainSet) await validationSet.close()
    }
  }
  if (prepared.labels) {
    data.labels = prepared.labels
    data.numLabels = prepared.labels.length
  } else if (task === 'regression') data.numLabels = 1
  return data
}
