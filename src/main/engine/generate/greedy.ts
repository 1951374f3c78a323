import type { TextTokenizer } from '../data/tokenizer'
import { disposeCache, type CachedDecoder, type KvCache } from './kvCache'

/**
 * Greedy decoding with a key/value cache, as transformers' generate(do_sample=False) does it: the prompt in
 * one step, then one token per step, each the argmax of the last logits (the first on a tie, as torch's
 * argmax), until a stop id comes (it is kept, as generate keeps eos), the budget is spent, or the signal aborts.
 */

export type StopReason = 'eos' | 'length' | 'cancel'

export interface GreedyOptions {
  maxNewTokens: number
  /** Ids that end the continuation: eos and the chat end-of-turn tokens (stopIds.ts finds them). */
  stopIds?: readonly number[]
  signal?: AbortSignal
  /** Called after each new token, with every new id so far (for a live preview). */
  onToken?: (ids: readonly number[]) => void
}

export interface GreedyResult {
  /** The new tokens, the stop token included when there was one. */
  ids: number[]
  stoppedBy: StopReason
  /** Wall time of the decoding (prompt included), for tokens per second. */
  seconds: number
}

export interface Generation extends GreedyResult {
  /** The prompt's ids, as the tokenizer gave them (special tokens included). */
  promptIds: number[]
  /** The new tokens as text, special tokens (the stop token) left out. */
  text: string
}

function argmax(values: Float32Array | Int32Array | Uint8Array): number {
  let best = 0
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i
  return best
}

/** Lets a pending abort (a message, a timer, Ctrl-C) run between steps: each step is synchronous tensor work. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))

/** Greedy continuation of prompt ids. Every tensor it makes is disposed before it returns (or throws). */
export async function generateGreedyIds(model: CachedDecoder, promptIds: readonly number[], options: GreedyOptions): Promise<GreedyResult> {
  const { maxNewTokens, signal } = options
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new Error(`maxNewTokens must be a whole number ≥ 0, got ${maxNewTokens}`)
  if (promptIds.length === 0) throw new Error('the prompt has no tokens to continue')
  if (promptIds.length > model.maxPositions) throw new Error(`the prompt has ${promptIds.length} tokens, more than the model's ${model.maxPositions} positions`)
  const stops = new Set(options.stopIds ?? [])
  const budget = Math.min(maxNewTokens, model.maxPositions - promptIds.length)
  const started = performance.now()
  const ids: number[] = []
  let cache: KvCache | undefined
  let stoppedBy: StopReason = 'length'
  let input: readonly number[] = promptIds
  try {
    while (ids.length < budget) {
      if (signal?.aborted) {
        stoppedBy = 'cancel'
        break
      }
      const step = model.forwardCached(input, cache)
      disposeCache(cache)
      cache = step.cache
      let next: number
      try {
        next = argmax(await step.logits.data())
      } finally {
        step.logits.dispose()
      }
      ids.push(next)
      options.onToken?.(ids)
      if (stops.has(next)) {
        stoppedBy = 'eos'
        break
      }
      input = [next]
      await nextTurn()
    }
    if (stoppedBy === 'length' && signal?.aborted && ids.length < budget) stoppedBy = 'cancel'
  } finally {
    disposeCache(cache)
  }
  return { ids, stoppedBy, seconds: (performance.now() - started) / 1000 }
}

/**
 * Greedy continuation of a text prompt, tokenised and decoded with the checkpoint's tokenizer (its special
 * tokens added, as transformers' tokenizer(prompt) does). A prompt that tokenises to nothing starts from
 * the bos token (else eos), as generate starts without input_ids.
 */
export async function generateGreedy(model: CachedDecoder, tokenizer: TextTokenizer, prompt: string, options: GreedyOptions): Promise<Generation> {
  let promptIds = tokenizer.encode(prompt).ids
  if (promptIds.length === 0) {
    const start = tokenizer.bosId ?? tokenizer.eosId
    if (start === undefined) throw new Error('the prompt is empty and the tokenizer has no bos or eos token to start from')
    promptIds = [start]
  }
  const result = await generateGreedyIds(model, promptIds, options)
  return { ...result, promptIds, text: tokenizer.decode(result.ids) }
}
