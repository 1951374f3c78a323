import { ReplaceNormalizer } from '@huggingface/tokenizers'
import { SafePattern } from '../../../shared/pattern/safePattern'
import { isJsonObject, type JsonObject } from '../io/jsonFile'
import { CharsmapError, PrecompiledCharsmap } from './precompiledCharsmap'
import { maxTokenizerPatternLength } from './tokenizerPatterns'
import { UnigramModel } from './unigramModel'

/**
 * A tokenizer.json whose model is Unigram (SentencePiece: DeBERTa-v3, XLM-R, T5, ALBERT), run here rather than
 * by @huggingface/tokenizers, whose port approximates the parts these checkpoints depend on: its Precompiled
 * normaliser is a fixed NFKC plus a few replacements instead of the file's charsmap, its Strip trims
 * JavaScript's whitespace set, its Metaspace ignores `split`, and its Unigram hands unknown characters back
 * as text. Each part below follows Hugging Face tokenizers 0.19 (the Rust library of the fast tokenizers);
 * a part this app does not run is refused at load, naming its field.
 */

/** A component of tokenizer.json this pipeline cannot run; the message starts with the field. */
export class PipelineError extends Error {
  override name = 'PipelineError'
  constructor(
    readonly field: string,
    reason: string
  ) {
    super(`${field}: ${reason}`)
  }
}

type Normalize = (text: string) => string
/** Words of one piece of text; `atStart`: the piece starts the whole text. */
type PreTokenize = (text: string, atStart: boolean) => string[]

const WHITE_SPACE = /\p{White_Space}/u
const MARK = /\p{M}/gu

function stripWhiteSpace(text: string, left: boolean, right: boolean): string {
  let start = 0
  let end = text.length
  if (left) while (start < end && WHITE_SPACE.test(text[start]!)) start++
  if (right) while (end > start && WHITE_SPACE.test(text[end - 1]!)) end--
  return text.slice(start, end)
}

function replaceNormalizer(spec: JsonObject, field: string): Normalize {
  const pattern = spec['pattern']
  const content = typeof spec['content'] === 'string' ? spec['content'] : ''
  if (isJsonObject(pattern) && typeof pattern['String'] === 'string') {
    const literal = pattern['String']
    return literal.length === 0 ? (text) => text : (text) => text.split(literal).join(content)
  }
  if (!isJsonObject(pattern) || typeof pattern['Regex'] !== 'string') throw new PipelineError(`${field}.pattern`, 'a Replace needs a String or a Regex')
  // The library's rewrite of the file's Oniguruma syntax into JavaScript's, matched by a bounded SafePattern.
  const compiled = (new ReplaceNormalizer(spec as unknown as ConstructorParameters<typeof ReplaceNormalizer>[0]) as unknown as { pattern: RegExp | null }).pattern
  if (!compiled) throw new PipelineError(`${field}.pattern`, 'not a pattern the library can read')
  const safe = SafePattern.compile(compiled.source, { where: `${field}.pattern.Regex`, flags: compiled.flags, maxLength: 4 * maxTokenizerPatternLength })
  // The content is literal text (no $1 or $& as String#replace would read it).
  return (text) => text.replace(safe, () => content)
}

export function buildNormalizer(spec: unknown, field = 'normalizer'): Normalize | null {
  if (spec === null || spec === undefined) return null
  if (!isJsonObject(spec)) throw new PipelineError(field, 'not an object')
  const type = spec['type']
  switch (type) {
    case 'Sequence': {
      const list = spec['normalizers']
      if (!Array.isArray(list)) throw new PipelineError(`${field}.normalizers`, 'not a list')
      const parts = list.map((item, i) => buildNormalizer(item, `${field}.normalizers[${i}]`)).filter((part): part is Normalize => part !== null)
      return (text) => parts.reduce((value, part) => part(value), text)
    }
    case 'Strip': {
      const left = spec['strip_left'] !== false
      const right = spec['strip_right'] !== false
      return (text) => stripWhiteSpace(text, left, right)
    }
    case 'Precompiled': {
      const charsmap = spec['precompiled_charsmap']
      if (charsmap === null || charsmap === undefined || charsmap === '') return null
      if (typeof charsmap !== 'string') throw new PipelineError(`${field}.precompiled_charsmap`, 'not a base64 string')
      try {
        const map = PrecompiledCharsmap.fromBase64(charsmap)
        return (text) => map.normalize(text)
      } catch (error) {
        if (error instanceof CharsmapError) throw new PipelineError(`${field}.precompiled_charsmap`, error.message)
        throw error
      }
    }
    case 'Replace':
      return replaceNormalizer(spec, field)
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return (text) => text.normalize(type)
    case 'Lowercase':
      // Character by character, as the Rust NormalizedString does (no final-sigma rule).
      return (text) => Array.from(text, (ch) => ch.toLowerCase()).join('')
    case 'StripAccents':
      return (text) => text.replace(MARK, '')
    case 'Prepend': {
      const prefix = typeof spec['prepend'] === 'string' ? spec['prepend'] : ''
      return (text) => (text.length > 0 ? prefix + text : text)
    }
    default:
      throw new PipelineError(`${field}.type`, `${JSON.stringify(type)} is not a normaliser this app runs for Unigram models`)
  }
}

/** Metaspace: spaces become the replacement, one goes in front (per prepend_scheme), and the text splits before each. */
function metaspace(spec: JsonObject, field: string): PreTokenize {
  const replacement = typeof spec['replacement'] === 'string' && spec['replacement'].length > 0 ? spec['replacement'] : '\u2581'
  if (Array.from(replacement).length !== 1) throw new PipelineError(`${field}.replacement`, 'must be one character')
  const scheme = typeof spec['prepend_scheme'] === 'string' ? spec['prepend_scheme'] : spec['add_prefix_space'] === false ? 'never' : 'always'
  if (scheme !== 'always' && scheme !== 'never' && scheme !== 'first') throw new PipelineError(`${field}.prepend_scheme`, `${JSON.stringify(scheme)} is not always, first or never`)
  const split = spec['split'] !== false
  return (text, atStart) => {
    let word = text.replaceAll(' ', replacement)
    if (!word.startsWith(replacement) && (scheme === 'always' || (scheme === 'first' && atStart))) word = replacement + word
    if (!split) return word.length > 0 ? [word] : []
    // Split before every replacement character, which stays with what follows it.
    const words: string[] = []
    let from = 0
    for (let at = word.indexOf(replacement, 1); at !== -1; at = word.indexOf(replacement, at + replacement.length)) {
      if (at > from) words.push(word.slice(from, at))
      from = at
    }
    if (from < word.length) words.push(word.slice(from))
    return words
  }
}

export function buildPreTokenizer(spec: unknown, field = 'pre_tokenizer'): PreTokenize {
  if (spec === null || spec === undefined) return (text) => [text]
  if (!isJsonObject(spec)) throw new PipelineError(field, 'not an object')
  const type = spec['type']
  switch (type) {
    case 'Sequence': {
      const list = spec['pretokenizers']
      if (!Array.isArray(list)) throw new PipelineError(`${field}.pretokenizers`, 'not a list')
      const parts = list.map((item, i) => buildPreTokenizer(item, `${field}.pretokenizers[${i}]`))
      // A word that came out of an earlier part starts the text only if it is the first of the first piece.
      return (text, atStart) => parts.reduce<string[]>((words, part) => words.flatMap((word, i) => part(word, atStart && i === 0)), [text])
    }
    case 'Metaspace':
      return metaspace(spec, field)
    case 'WhitespaceSplit':
      return (text) => text.split(/\p{White_Space}+/u).filter((word) => word.length > 0)
    default:
      throw new PipelineError(`${field}.type`, `${JSON.stringify(type)} is not a pre-tokeniser this app runs for Unigram models`)
  }
}

export interface ProcessedIds {
  ids: number[]
  typeIds: number[]
}

/** TemplateProcessing (or none) on ids: `[CLS] $A [SEP] $B [SEP]` with each piece's type id. */
export function buildTemplate(spec: unknown, field = 'post_processor'): (first: number[], second: number[] | undefined, addSpecialTokens: boolean) => ProcessedIds {
  if (spec === null || spec === undefined) {
    return (first, second) => ({ ids: [...first, ...(second ?? [])], typeIds: [...first.map(() => 0), ...(second ?? []).map(() => 1)] })
  }
  if (!isJsonObject(spec) || spec['type'] !== 'TemplateProcessing') {
    throw new PipelineError(`${field}.type`, `${JSON.stringify(isJsonObject(spec) ? spec['type'] : spec)} is not a post-processor this app runs for Unigram models (TemplateProcessing is)`)
  }
  const specials = isJsonObject(spec['special_tokens']) ? spec['special_tokens'] : {}
  type Piece = { sequence: 'A' | 'B'; typeId: number } | { ids: number[]; typeId: number }
  const parse = (name: 'single' | 'pair'): Piece[] => {
    const items = spec[name]
    if (!Array.isArray(items)) throw new PipelineError(`${field}.${name}`, 'not a list')
    return items.map((item: unknown, i) => {
      const where = `${field}.${name}[${i}]`
      if (isJsonObject(item) && isJsonObject(item['Sequence'])) {
        const { id, type_id: typeId } = item['Sequence']
        if ((id !== 'A' && id !== 'B') || typeof typeId !== 'number') throw new PipelineError(where, 'a Sequence is {id: "A" | "B", type_id}')
        return { sequence: id, typeId }
      }
      if (isJsonObject(item) && isJsonObject(item['SpecialToken'])) {
        const { id, type_id: typeId } = item['SpecialToken']
        const special = typeof id === 'string' ? specials[id] : undefined
        const ids = isJsonObject(special) ? special['ids'] : undefined
        if (typeof typeId !== 'number' || !Array.isArray(ids) || !ids.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) {
          throw new PipelineError(where, `the special token ${JSON.stringify(id)} has no ids in ${field}.special_tokens`)
        }
        return { ids: ids as number[], typeId }
      }
      throw new PipelineError(where, 'neither a Sequence nor a SpecialToken')
    })
  }
  const single = parse('single')
  const pair = parse('pair')
  return (first, second, addSpecialTokens) => {
    const ids: number[] = []
    const typeIds: number[] = []
    for (const piece of second === undefined ? single : pair) {
      const part = 'ids' in piece ? (addSpecialTokens ? piece.ids : []) : piece.sequence === 'A' ? first : (second ?? [])
      for (const id of part) {
        ids.push(id)
        typeIds.push(piece.typeId)
      }
    }
    return { ids, typeIds }
  }
}

/** The pieces of a Unigram tokenizer.json, ready to run. */
export interface UnigramPipeline {
  normalize: Normalize | null
  preTokenize: PreTokenize
  model: UnigramModel
  postProcess: ReturnType<typeof buildTemplate>
  /** Metaspace's replacement character, read back as a space when decoding; whether a leading one was added. */
  replacement: string
  prepends: boolean
}

/** Builds the pipeline of a tokenizer.json whose model is Unigram (already checked by tokenizerJsonProblem). */
export function unigramPipeline(json: JsonObject): UnigramPipeline {
  const model = json['model'] as JsonObject
  if (model['byte_fallback'] === true) throw new PipelineError('model.byte_fallback', 'a Unigram model with byte fallback is not run by this app')
  const unkId = model['unk_id']
  const pieces = model['vocab'] as [string, number][]
  if (unkId !== null && unkId !== undefined && !(Number.isSafeInteger(unkId) && (unkId as number) >= 0 && (unkId as number) < pieces.length)) {
    throw new PipelineError('model.unk_id', `${JSON.stringify(unkId)} is not the index of a piece`)
  }
  const findMetaspace = (spec: unknown): JsonObject | undefined => {
    if (!isJsonObject(spec)) return undefined
    if (spec['type'] === 'Metaspace') return spec
    return Array.isArray(spec['pretokenizers']) ? (spec['pretokenizers'] as unknown[]).map(findMetaspace).find(Boolean) : undefined
  }
  const meta = findMetaspace(json['pre_tokenizer'])
  return {
    normalize: buildNormalizer(json['normalizer']),
    preTokenize: buildPreTokenizer(json['pre_tokenizer']),
    model: new UnigramModel(pieces, typeof unkId === 'number' ? unkId : null),
    postProcess: buildTemplate(json['post_processor']),
    replacement: typeof meta?.['replacement'] === 'string' ? meta['replacement'] : '\u2581',
    prepends: meta !== undefined && meta['prepend_scheme'] !== 'never' && !(meta['prepend_scheme'] === undefined && meta['add_prefix_space'] === false)
  }
}
