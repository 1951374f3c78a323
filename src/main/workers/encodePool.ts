import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { ExampleEncodeError } from '../engine/data/encodeExample'
import type { ExampleEncoder, ParallelEncoding } from '../engine/data/encodedDataset'
import type { TextTokenizer } from '../engine/data/tokenizer'
import { unpackEncoded, type EncodeTask, type EncodeTaskResult } from './encodeProtocol'
import { WorkerPool } from './pool'
import { workerEntry } from './spawn'

/** Encoding workers: one a core, at most 8 (past that the reading thread, not the tokenising, sets the pace). */
export function defaultEncodeWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), 8))
}

/**
 * Worker threads that tokenise chunks of examples, each with its own copy of the tokenizer (loaded from the
 * same checkpoint with the engine the caller's tokenizer runs, so every thread gives the same ids). Chunks
 * go out in order and their results are taken in order by encodeTextDataset; two per worker are in flight,
 * so memory holds only those. A text a worker cannot tokenise comes back as an ExampleEncodeError with its row.
 */
export function workerParallelEncoding(options: { workers?: number; minBytes?: number } = {}): ParallelEncoding {
  return {
    ...(options.minBytes !== undefined && { minBytes: options.minBytes }),
    open: (tokenizer) => openEncodePool(tokenizer, options.workers ?? defaultEncodeWorkers())
  }
}

export async function openEncodePool(tokenizer: TextTokenizer, workers: number): Promise<(ExampleEncoder & { close(): Promise<void> }) | string> {
  const entry = workerEntry('encodeWorker', import.meta.url)
  // A missing entry (a bundle built without it) would have the pool respawn dead workers forever.
  if (entry.protocol === 'file:' && !existsSync(fileURLToPath(entry))) return `the encode worker ${fileURLToPath(entry)} is missing from this build`
  const source: EncodeTask['tokenizer'] = { checkpoint: tokenizer.source.checkpoint, options: { ...tokenizer.source.options, engine: tokenizer.engine } }
  const pool = new WorkerPool<EncodeTask, EncodeTaskResult>(entry, workers)
  // Every worker loads the tokenizer before the first chunk: a worker that cannot is a reason, not a failed run.
  try {
    await Promise.all(Array.from({ length: pool.size }, () => pool.run({ tokenizer: source, task: 'classification', maxLength: 2, examples: [] }, { label: 'loading the tokenizer in an encode worker' })))
  } catch (error) {
    await pool.close()
    return `the encode workers could not start: ${error instanceof Error ? error.message : String(error)}`
  }
  return {
    concurrency: 2 * pool.size,
    workers: pool.size,
    async encode(examples, task, maxLength) {
      const result = await pool.run({ tokenizer: source, task, maxLength, examples: [...examples] }, { label: `encoding rows ${examples[0]?.row ?? ''}–${examples.at(-1)?.row ?? ''}` })
      if (!result.ok) throw new ExampleEncodeError(examples[result.index]?.row ?? -1, result.reason)
      return unpackEncoded(result)
    },
    close: () => pool.close()
  }
}
