import type { EncodedExample } from '../engine/data/encodeExample'
import type { TextExample, TextTask } from '../engine/data/examples'
import type { TokenizerLoadOptions } from '../engine/data/tokenizer'

/** Encode task: one chunk of examples, tokenised by the worker's copy of the tokenizer (loaded once). */
export interface EncodeTask {
  tokenizer: { checkpoint: string; options: TokenizerLoadOptions }
  task: TextTask
  maxLength: number
  examples: TextExample[]
}

/**
 * The chunk's encodings packed into a few transferable arrays (cloning one small array per example costs
 * more than the tokenising on the native engine), or the example that could not be tokenised.
 */
export type EncodeTaskResult =
  | {
      ok: true
      /** Every example's ids, one after another; `lengths[i]` of them belong to example i. */
      ids: Int32Array
      lengths: Int32Array
      /** Where the pair's segment starts in example i (-1: none). Segment ids are 0 before it, 1 from it. */
      pairStarts: Int32Array
      promptLengths: Int32Array
      fullLengths: Float64Array
      partial: Uint8Array
    }
  | { ok: false; index: number; reason: string }

export function packEncoded(encoded: readonly EncodedExample[]): EncodeTaskResult & { ok: true } {
  const total = encoded.reduce((sum, e) => sum + e.ids.length, 0)
  const ids = new Int32Array(total)
  const lengths = new Int32Array(encoded.length)
  const pairStarts = new Int32Array(encoded.length)
  const promptLengths = new Int32Array(encoded.length)
  const fullLengths = new Float64Array(encoded.length)
  const partial = new Uint8Array(encoded.length)
  let at = 0
  encoded.forEach((e, i) => {
    ids.set(e.ids, at)
    at += e.ids.length
    lengths[i] = e.ids.length
    pairStarts[i] = e.typeIds.indexOf(1)
    promptLengths[i] = e.promptLength
    fullLengths[i] = e.fullLength
    partial[i] = e.partial ? 1 : 0
  })
  return { ok: true, ids, lengths, pairStarts, promptLengths, fullLengths, partial }
}

export function unpackEncoded(packed: EncodeTaskResult & { ok: true }): EncodedExample[] {
  const out: EncodedExample[] = []
  let at = 0
  for (let i = 0; i < packed.lengths.length; i++) {
    const length = packed.lengths[i]!
    const ids = Array.from(packed.ids.subarray(at, at + length))
    at += length
    const pairStart = packed.pairStarts[i]!
    const typeIds = ids.map((_, j) => (pairStart >= 0 && j >= pairStart ? 1 : 0))
    out.push({ ids, typeIds, promptLength: packed.promptLengths[i]!, fullLength: packed.fullLengths[i]!, partial: packed.partial[i] === 1 })
  }
  return out
}

export const transferablesOf = (packed: EncodeTaskResult & { ok: true }): ArrayBuffer[] =>
  [packed.ids, packed.lengths, packed.pairStarts, packed.promptLengths, packed.fullLengths, packed.partial].map((a) => a.buffer as ArrayBuffer)
