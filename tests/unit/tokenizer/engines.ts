import { expect } from 'vitest'
import { TextTokenizer, type EncodedText, type EncodeOptions, type EncodeRequest, type TokenizerLoadOptions } from '../../../src/main/engine/data/tokenizer'

/**
 * The two engines TextTokenizer segments with: the pure-JS one (encode, synchronous) and Hugging Face's Rust
 * library through the `tokenizers` addon (encodeMany). The tokenizer suites run their cases on both, sharing
 * fixtures and reference outputs, so each engine is held to the same independent references.
 */
export const engines = ['js', 'native'] as const
export type Engine = (typeof engines)[number]

/** The tokenizer with the engine forced: a test of the native engine never passes on a silent fallback. */
export async function loadOn(engine: Engine, checkpoint: string, options: TokenizerLoadOptions = {}): Promise<TextTokenizer> {
  const tokenizer = await TextTokenizer.load(checkpoint, { ...options, engine })
  expect(tokenizer.engine).toBe(engine)
  return tokenizer
}

/** One text on the tokenizer's engine: `encode` on the JS engine, `encodeMany` on the native one. */
export async function encodeOn(tokenizer: TextTokenizer, text: string, options: EncodeOptions = {}): Promise<EncodedText> {
  if (tokenizer.engine === 'js') return tokenizer.encode(text, options)
  return (await tokenizer.encodeMany([{ ...options, text }]))[0]!
}

/** Many texts on the tokenizer's engine, as one batch on the native one. */
export async function encodeAllOn(tokenizer: TextTokenizer, requests: readonly EncodeRequest[]): Promise<EncodedText[]> {
  if (tokenizer.engine === 'js') return requests.map((request) => tokenizer.encode(request.text, request))
  return tokenizer.encodeMany(requests)
}
