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
      /** Chat data: how many loss spans example i has (-1: none, its loss follows promptLengths), and all their [start, end) pairs, one after another. */
      lossSpanCounts: Int32Array
      lossSpans: Int32Array
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
  const lossSpanCounts = new Int32Array(encoded.length)
  const lossSpans = new Int32Array(2 * encoded.reduce((sum, e) => sum + (e.lossSpans?.length ?? 0), 0))
  let at = 0
  let spanAt = 0
  encoded.forEach((e, i) => {
    ids.set(e.ids, at)
    at += e.ids.length
    lengths[i] = e.ids.length
    pairStarts[i] = e.typeIds.indexOf(1)
    promptLengths[i] = e.promptLength
    fullLengths[i] = e.fullLength
    partial[i] = e.partial ? 1 : 0
    lossSpanCounts[i] = e.lossSpans?.length ?? -1
    for (const [start, end] of e.lossSpans ?? []) {
      lossSpans[spanAt++] = start
      lossSpans[spanAt++] = end
    }
  })
  return { ok: true, ids, lengths, pairStarts, promptLengths, fullLengths, partial, lossSpanCounts, lossSpans }
}

export function unpackEncoded(packed: EncodeTaskResult & { ok: true }): EncodedExample[] {
  const out: EncodedExample[] = []
  let at = 0
  let spanAt = 0
  for (let i = 0; i < packed.lengths.length; i++) {
    const length = packed.lengths[i]!
    const ids = Array.from(packed.ids.subarray(at, at + length))
    at += length
    const pairStart = packed.pairStarts[i]!
    const typeIds = ids.map((_, j) => (pairStart >= 0 && j >= pairStart ? 1 : 0))
    const example: EncodedExample = { ids, typeIds, promptLength: packed.promptLengths[i]!, fullLength: packed.fullLengths[i]!, partial: packed.partial[i] === 1 }
    const spans = packed.lossSpanCounts[i]!
    if (spans >= 0) {
      example.lossSpans = Array.from({ length: spans }, (_, j): [number, number] => [packed.lossSpans[spanAt + 2 * j]!, packed.lossSpans[spanAt + 2 * j + 1]!])
      spanAt += 2 * spans
    }
    out.push(example)
  }
  return out
}

export const transferablesOf = (packed: EncodeTaskResult & { ok: true }): ArrayBuffer[] =>
  [packed.ids, packed.lengths, packed.pairStarts, packed.promptLengths, packed.fullLengths, packed.partial, packed.lossSpanCounts, packed.lossSpans].map((a) => a.buffer as ArrayBuffer)
