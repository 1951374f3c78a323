import { createRequire } from 'node:module'
import { isJsonObject, type JsonObject } from '../io/jsonFile'
import { addedTokenSpecs, type AddedTokenSpec } from './addedTokens'
import { regexFields } from './tokenizerPatterns'

/**
 * The fast path of TextTokenizer: Hugging Face's Rust `tokenizers` library (the npm package `tokenizers`, a
 * napi addon with prebuilt binaries) running the checkpoint's tokenizer.json, as transformers' fast tokenizers
 * do. It segments only: the text's ids without special tokens. Everything around that (the added tokens'
 * ids by name, max_length and longest-first cuts, the template, padding, decoding) stays in TextTokenizer and
 * the JS core, so both engines give the same EncodedText by construction wherever their segmentation agrees.
 *
 * The addon is required lazily, and any failure (no binary for this platform, an Electron ABI it was not
 * built for, a browser bundle where `require` does not exist) becomes a reason to use the JS engine; nothing
 * here throws into an encode.
 */

/** Which engine segments text: Hugging Face's Rust library through its addon, or the pure-JS port. */
export type TokenizerEngine = 'native' | 'js'

/** What the caller asks for: the native engine where it can run (auto), or one of them. */
export type TokenizerEngineChoice = 'auto' | TokenizerEngine

/** The environment variable that forces an engine for every tokenizer loaded without an explicit choice. */
export const tokenizerEngineVariable = 'SIVA_TOKENIZER'

/** SIVA_TOKENIZER=js|native|auto; anything else (unset, a typo) is auto, with the typo named. */
export function engineChoiceFromEnvironment(env: NodeJS.ProcessEnv = process.env): { choice: TokenizerEngineChoice; note?: string } {
  const value = env[tokenizerEngineVariable]?.trim().toLowerCase()
  if (value === undefined || value === '' || value === 'auto') return { choice: 'auto' }
  if (value === 'js' || value === 'native') return { choice: value }
  return { choice: 'auto', note: `${tokenizerEngineVariable}=${JSON.stringify(env[tokenizerEngineVariable])} is not js, native or auto; ignored` }
}

/** The part of the addon's API this file uses (index.d.ts of tokenizers 0.23). */
interface AddonEncoding {
  getIds(): number[]
}
interface AddonTokenizer {
  encodeBatch(sentences: string[], options: { addSpecialTokens: boolean }): Promise<AddonEncoding[]>
  disableTruncation(): void
  disablePadding(): void
}
interface Addon {
  Tokenizer: { fromString(json: string): AddonTokenizer }
}

let addon: { module: Addon } | { reason: string } | undefined

/** The addon, required once per thread; a string says why it cannot be used here. */
export function loadTokenizersAddon(): Addon | string {
  if (!addon) {
    try {
      // A runtime require, never an import: bundlers leave it alone, and a failure is a value, not a crash.
      const required = createRequire(import.meta.url)('tokenizers') as Partial<Addon>
      if (typeof required?.Tokenizer?.fromString !== 'function') throw new Error('the package has no Tokenizer.fromString')
      addon = { module: required as Addon }
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0]! : String(error)
      const versions = process.versions ?? {}
      const runtime = versions['electron'] ? `Electron ${versions['electron']}` : versions.node ? `Node ${versions.node}` : 'this runtime'
      addon = { reason: `the native tokenizers addon did not load on ${process.platform}-${process.arch} (${runtime}): ${message}` }
    }
  }
  return 'module' in addon ? addon.module : addon.reason
}

/**
 * Patterns the native engine may run. The Rust library matches tokenizer.json's Regex fields with Oniguruma,
 * a backtracking engine: a file from the internet with `(a|a)+$` would hang a thread on one row, and the JS
 * engine bounds every pattern instead (tokenizerPatterns.ts). So the native engine takes only the patterns
 * of real checkpoints (alternatives of repeated classes, which never backtrack into a runaway there) and a
 * single character repeated; any other pattern keeps the tokenizer on the JS engine, which says so.
 */
const knownPatterns = new Set([
  // GPT-2's own split, as later files spell it out.
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
  // Llama-3 (cl100k-style), and Qwen2 (single digits).
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  // BLOOM.
  ' ?[^(\\s|[.,!?…。，、।۔،])]+'
])
const repeatedCharacter = /^(?:\\?[^\\()[\]{}|.*+?^$])(?:\+|\*|\{\d{1,4},\d{0,4}\})$/u

/** The first Regex field the native engine would run that is not one of those. */
function unboundedPattern(json: JsonObject): string | undefined {
  for (const [component, field] of regexFields(json)) {
    // Decoders never run natively: TextTokenizer decodes on the JS core.
    if (field.startsWith('decoder')) continue
    const source = (component['pattern'] as JsonObject)['Regex'] as string
    if (!knownPatterns.has(source) && !repeatedCharacter.test(source)) return field
  }
  return undefined
}

/**
 * transformers' split_special_tokens is the Rust AddedVocabulary's encode_special_tokens, which tokenizer.json
 * does not store and the addon does not expose. Leaving the special tokens out of the file gives the same
 * segmentation, unless a non-special added token overlaps one: the Rust scan skips a special match whole,
 * and without it the other token could match inside that span. Those files stay on the JS engine.
 */
function overlapsSpecial(tokens: readonly AddedTokenSpec[]): string | undefined {
  const specials = tokens.filter((t) => t.special && t.content.length > 0)
  const others = tokens.filter((t) => !t.special && t.content.length > 0)
  for (const s of specials) {
    for (const n of others) {
      if (s.content.includes(n.content)) return `${JSON.stringify(n.content)} lies inside the special token ${JSON.stringify(s.content)}`
      for (let cut = 1; cut < s.content.length; cut++) {
        if (n.content.startsWith(s.content.slice(cut))) return `${JSON.stringify(n.content)} starts with the end of the special token ${JSON.stringify(s.content)}`
      }
    }
  }
  return undefined
}

/** Segments texts with the Rust library: each text's ids, without the template's special tokens. */
export interface NativeSegmenter {
  segment(texts: readonly string[]): Promise<number[][]>
}

const UNASSIGNED = /\p{Cn}/u

/**
 * Texts the Rust library reads differently from transformers, which the JS core reads as transformers does:
 * BertNormalizer's clean_text drops unassigned code points (category Cn) in transformers' BertTokenizer and
 * in the JS core, while tokenizers 0.23 keeps them (so "unassigned\u0378" became one [UNK] instead of
 * word pieces; tests/unit/tokenizer/transformers.test.ts). Such a text is rare and goes to the JS core alone.
 */
export function textsForJs(json: JsonObject): ((text: string) => boolean) | undefined {
  const normalizer = json['normalizer']
  if (isJsonObject(normalizer) && normalizer['type'] === 'BertNormalizer' && normalizer['clean_text'] !== false) return (text) => UNASSIGNED.test(text)
  return undefined
}

/** `native`, except for the texts `forJs` picks, which `js` segments (in their place in the batch). */
export function routeSomeToJs(native: NativeSegmenter, forJs: (text: string) => boolean, js: (text: string) => number[]): NativeSegmenter {
  return {
    async segment(texts) {
      const picked = texts.map(forJs)
      if (!picked.includes(true)) return native.segment(texts)
      const nativeIds = await native.segment(texts.filter((_, i) => !picked[i]))
      let next = 0
      return texts.map((text, i) => (picked[i] ? js(text) : nativeIds[next++]!))
    }
  }
}

/**
 * The native segmenter for a tokenizer.json already checked and adjusted by TextTokenizer.load (applyConfig,
 * tokenizerJsonProblem), or the reason it cannot be used, in words a user can act on.
 */
export function nativeSegmenter(json: JsonObject, splitSpecialTokens: boolean): NativeSegmenter | string {
  const module = loadTokenizersAddon()
  if (typeof module === 'string') return module
  const field = unboundedPattern(json)
  if (field) return `tokenizer.json's ${field} is not a pattern the native engine is known to match in bounded time (the JS engine bounds every pattern)`
  let file = json
  if (splitSpecialTokens) {
    const tokens = addedTokenSpecs(json)
    const overlap = overlapsSpecial(tokens)
    if (overlap) return `split_special_tokens with overlapping added tokens: ${overlap}`
    const list = Array.isArray(json['added_tokens']) ? (json['added_tokens'] as unknown[]) : []
    file = { ...json, added_tokens: list.filter((token) => isJsonObject(token) && token['special'] !== true) }
  }
  let tokenizer: AddonTokenizer
  try {
    // truncation and padding are TextTokenizer's: a file that sets them must not cut or pad behind its back.
    tokenizer = module.Tokenizer.fromString(JSON.stringify({ ...file, truncation: null, padding: null }))
    tokenizer.disableTruncation()
    tokenizer.disablePadding()
  } catch (error) {
    return `the native engine cannot read this tokenizer.json: ${error instanceof Error ? error.message : String(error)}`
  }
  return {
    async segment(texts) {
      if (texts.length === 0) return []
      const encodings = await tokenizer.encodeBatch([...texts], { addSpecialTokens: false })
      return encodings.map((encoding) => encoding.getIds())
    }
  }
}
