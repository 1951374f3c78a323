import { basename } from 'node:path'
import { decodeRgb, readImageBytes } from './decode'
import type { ImageEntry } from './imageDataset'
import { mapOrdered } from './ordered'
import { fitToModel, normalizeToChw } from './preprocess'
import type { ImageProcessorConfig } from './preprocessorConfig'

export interface ImageBatchOptions {
  batchSize: number
  /** Class name → id, in the model's label order (the training set's). */
  labelIds: ReadonlyMap<string, number>
  /** Positions in `entries` in the order to visit them (e.g. epochOrder()); default the listing order. */
  order?: ArrayLike<number>
  /** Images decoded at once (default 4), ahead of the batch being consumed. */
  concurrency?: number
  signal?: AbortSignal
}

export interface ImageBatch {
  /** size·3·height·width values: each image channels first, as preprocessImage gives it. */
  pixels: Float32Array
  labels: Int32Array
  /** Position in `entries` of each image. */
  indices: Uint32Array
  /** Each image's CSV row, or for a folder its 1-based position in the listing, for messages. */
  rows: number[]
  /** Images in this batch: batchSize, except perhaps in the last. */
  size: number
}

/**
 * Batches of preprocessed images, decoded as they are needed with a few decodes running ahead, so memory
 * holds the batch at hand and not the dataset. A label without an id is an error before any decoding; an
 * image that cannot be read stops the stream with an ImageReadError naming it (validate first to see every
 * bad image at once). Cancel with `signal`, or stop iterating.
 */
export async function* imageBatches(entries: readonly ImageEntry[], config: ImageProcessorConfig, options: ImageBatchOptions): AsyncGenerator<ImageBatch> {
  const { batchSize, labelIds } = options
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`)
  const order = options.order ?? Uint32Array.from(entries, (_, i) => i)
  const labels = new Int32Array(order.length)
  for (let i = 0; i < order.length; i++) {
    const index = order[i]!
    const entry = entries[index]
    if (entry === undefined) throw new RangeError(`order[${i}] = ${index} is not a position in the ${entries.length} images`)
    const id = labelIds.get(entry.label)
    if (id === undefined) throw new Error(`${basename(entry.path)}${entry.row === undefined ? '' : ` (row ${entry.row})`}: class "${entry.label}" has no label id; is it among the training classes?`)
    labels[i] = id
  }

  const imageValues = 3 * config.height * config.width
  const decoded = mapOrdered(
    order,
    options.concurrency ?? 4,
    async (index) => {
      const entry = entries[index]!
      const bytes = await readImageBytes(entry.path, entry.path)
      return fitToModel(await decodeRgb(bytes, entry.path), config, entry.path)
    },
    options.signal
  )
  let batch: ImageBatch | undefined
  let at = 0
  for await (const pixels of decoded) {
    if (batch === undefined) {
      const size = Math.min(batchSize, order.length - at)
      batch = { pixels: new Float32Array(size * imageValues), labels: labels.slice(at, at + size), indices: new Uint32Array(size), rows: [], size }
    }
    const slot = batch.rows.length
    const index = order[at]!
    normalizeToChw(pixels, config, batch.pixels, slot * imageValues)
    batch.indices[slot] = index
    batch.rows.push(entries[index]!.row ?? index + 1)
    at++
    if (batch.rows.length === batch.size) {
      yield batch
      batch = undefined
    }
  }
}
