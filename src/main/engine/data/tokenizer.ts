import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { Tokenizer } from '@huggingface/tokenizers'
import { PatternError } from '../../../shared/pattern/safePattern'
import { describeSystemError } from '../io/errors'
import { isJsonObject, maxJsonBytes, type JsonObject } from '../io/jsonFile'
import { readRegularTextFile } from '../io/regularFile'
import { ChatTemplate, ChatTemplateError, type ChatTemplateSource } from './chatTemplate'
import { checkpointFolder } from './checkpointFolder'
import { engineChoiceFromEnvironment, nativeSegmenter, routeSomeToJs, textsForJs, type NativeSegmenter, type TokenizerEngine, type TokenizerEngineChoice } from './fastTokenizer'
import { libraryCore, sentenceEncoderCore, unigramJsonCore, type SegmenterCore } from './segmenters'
import { UnigramVocabulary } from './sentencePiece'
import { tokenizerJsonProblem } from './tokenizerJson'
import { boundTokenizerPatterns } from './tokenizerPatterns'
import { PipelineError } from './unigramTokenizerJson'

export type { TokenizerEngine, TokenizerEngineChoice } from './fastTokenizer'

/** A checkpoint's tokenizer files are missing or unreadable; the message names the file. */
export class TokenizerLoadError extends Error {
  override name = 'TokenizerLoadError'
  constructor(
    readonly file: string,
    reason: string,
    options?: ErrorOptions
  ) {
    super(`${file}: ${reason}`, options)
  }
}

export interface EncodeOptions {
  /** Second sentence of a pair (GLUE-style tasks). */
  pair?: string
  /** Cut to at most this many ids, special tokens included (longest sequence first for pairs). */
  maxLength?: number
  /** Pad with the pad id up to maxLength (right side unless the config says left). */
  padToMaxLength?: boolean
  /** Add the checkpoint's special tokens ([CLS] … [SEP], <s> … </s>); default true. */
  addSpecialTokens?: boolean
}

export interface EncodedText {
  ids: number[]
  attentionMask: number[]
  /** Segment ids (0 for the first sentence, 1 for the pair), for models that use them. */
  tokenTypeIds: number[]
  /** Length in ids before truncation and padding: what validation reports as "too long". A lower bound when `partial`. */
  fullLength: number
  truncated: boolean
  /**
   * A text was far longer than maxLength can use and only its start was tokenised: the ids are the same, and
   * fullLength is a lower bound that is still over maxLength.
   */
  partial: boolean
}

/** How TextTokenizer.load reads a checkpoint's tokenizer. */
export interface TokenizerLoadOptions {
  /**
   * transformers' `split_special_tokens`: when true, special tokens written inside a text ("<|endoftext|>",
   * "[SEP]") are tokenised as the plain text they are, never given their special id; the template's own
   * special tokens ([CLS] … [SEP], added by `addSpecialTokens`) are still added. Non-special added tokens are
   * still matched, as in the fast (Rust) tokenizers. Undefined: the checkpoint's tokenizer_config.json decides
   * (`"split_special_tokens": true`), as transformers does; true or false overrides it, as the init kwarg
   * `AutoTokenizer.from_pretrained(folder, split_special_tokens=…)` does.
   */
  splitSpecialTokens?: boolean
  /**
   * Which engine segments text in `encodeMany`: 'native' (Hugging Face's Rust tokenizers, fastTokenizer.ts)
   * where it can run, else 'js'; 'auto' (the default, unless SIVA_TOKENIZER=js|native says otherwise) picks
   * native and falls back, saying why. 'native' asked for and not possible is a TokenizerLoadError.
   */
  engine?: TokenizerEngineChoice
}

/** One text to encode with encodeMany: the text and its EncodeOptions. */
export interface EncodeRequest extends EncodeOptions {
  text: string
}

/** An encodeMany request could not be tokenised; `index` says which. */
export class EncodeRequestError extends Error {
  override name = 'EncodeRequestError'
  constructor(
    readonly index: number,
    readonly reason: string,
    options?: ErrorOptions
  ) {
    super(`text ${index}: ${reason}`, options)
  }
}

/** What an encode asks of the segmenter, and gets back: the ids of these texts, without special tokens. */
type Steps<T> = Generator<readonly string[], T, number[][]>

/** Runs encode steps to the end with a synchronous segmenter. */
function runSteps<T>(steps: Steps<T>, segment: (text: string) => number[]): T {
  let next = steps.next()
  while (!next.done) next = steps.next(next.value.map(segment))
  return next.value
}

const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const askedForJs = (options: TokenizerLoadOptions): string => (options.engine === 'js' ? 'the JS engine was asked for' : 'SIVA_TOKENIZER=js asks for the JS engine')

async function readJson(file: string, required: boolean): Promise<JsonObject | undefined> {
  let text: string
  try {
    // A regular file only: a FIFO would be waited on forever.
    text = await readRegularTextFile(file, maxJsonBytes)
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new TokenizerLoadError(file, (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found: the checkpoint has no tokenizer.json' : describeSystemError(error), { cause: error })
  }
  try {
    const value = JSON.parse(text) as unknown
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object')
    return value as JsonObject
  } catch (error) {
    throw new TokenizerLoadError(file, `not valid JSON: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
}

/** A special token as tokenizer_config.json / special_tokens_map.json write it: a string or {content}. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (value && typeof value === 'object' && typeof (value as JsonObject)['content'] === 'string') return (value as JsonObject)['content'] as string
  return undefined
}

// ---- tokenizer.json as Hugging Face's Python classes adjust it on load --------------------------------

/**
 * The tokenizer.json that transformers' fast tokenizer ends up running: tokenizer_config.json wins over it
 * for the BERT normaliser switches (do_lower_case, strip_accents, tokenize_chinese_chars) and for the
 * byte-level pre-tokeniser's add_prefix_space, and its added_tokens_decoder adds tokens tokenizer.json lacks.
 */
function applyConfig(json: JsonObject, config: JsonObject): JsonObject {
  const out: JsonObject = { ...json }
  const normalizer = json['normalizer']
  if (isJsonObject(normalizer) && normalizer['type'] === 'BertNormalizer') {
    const adjusted = { ...normalizer }
    if (typeof config['do_lower_case'] === 'boolean') adjusted['lowercase'] = config['do_lower_case']
    if (typeof config['strip_accents'] === 'boolean' || config['strip_accents'] === null) adjusted['strip_accents'] = config['strip_accents']
    if (typeof config['tokenize_chinese_chars'] === 'boolean') adjusted['handle_chinese_chars'] = config['tokenize_chinese_chars']
    out['normalizer'] = adjusted
  }
  const preTokenizer = json['pre_tokenizer']
  if (isJsonObject(preTokenizer) && preTokenizer['type'] === 'ByteLevel' && typeof config['add_prefix_space'] === 'boolean') {
    out['pre_tokenizer'] = { ...preTokenizer, add_prefix_space: config['add_prefix_space'] }
  }
  const decoderEntries = isJsonObject(config['added_tokens_decoder']) ? Object.entries(config['added_tokens_decoder']) : []
  if (decoderEntries.length > 0) {
    const added = Array.isArray(json['added_tokens']) ? [...(json['added_tokens'] as JsonObject[])] : []
    const known = new Set(added.map((token) => token['content']))
    for (const [id, token] of decoderEntries) {
      if (!isJsonObject(token) || typeof token['content'] !== 'string' || known.has(token['content']) || !/^\d+$/.test(id)) continue
      added.push({ ...token, id: Number(id) })
      known.add(token['content'])
    }
    out['added_tokens'] = added
  }
  return out
}

// ---- BERT normalisation as the Rust `tokenizers` library does it ---------------------------------------

interface BertNormalizerConfig {
  clean_text?: boolean
  handle_chinese_chars?: boolean
  strip_accents?: boolean | null
  lowercase?: boolean
}

/** The CJK blocks that get spaces around each character (Rust tokenizers' table, astral planes included). */
const CJK_BLOCKS: ReadonlyArray<readonly [number, number]> = [
  [0x4e00, 0x9fff],
  [0x3400, 0x4dbf],
  [0x20000, 0x2a6df],
  [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f],
  [0x2b920, 0x2ceaf],
  [0xf900, 0xfaff],
  [0x2f800, 0x2fa1f]
]
const OTHER = /\p{C}/u
const WHITE_SPACE = /\p{White_Space}/u
const NONSPACING_MARKS = /\p{Mn}/gu

/**
 * BertNormalizer with the semantics of the Rust library (and so of every fast tokenizer), which the JS port
 * misses in three places: it drops unassigned code points (category Cn) with the other control characters,
 * it spaces CJK characters outside the Basic Multilingual Plane (the port looks at UTF-16 units), and it
 * lowercases character by character (a final capital sigma becomes σ, where String#toLowerCase gives ς).
 * Accents go before lowercasing; strip_accents null means "when lowercasing".
 */
function bertNormalizer(config: BertNormalizerConfig): (text: string) => string {
  const cleanText = config.clean_text ?? true
  const chineseChars = config.handle_chinese_chars ?? true
  const lowercase = config.lowercase ?? true
  const stripAccents = config.strip_accents ?? lowercase
  return (text) => {
    let out = ''
    for (const ch of text) {
      const code = ch.codePointAt(0)!
      if (cleanText) {
        const keptControl = ch === '\t' || ch === '\n' || ch === '\r'
        if (code === 0 || code === 0xfffd || (!keptControl && OTHER.test(ch))) continue
        if (keptControl || WHITE_SPACE.test(ch)) {
          out += ' '
          continue
        }
      }
      out += chineseChars && CJK_BLOCKS.some(([low, high]) => code >= low && code <= high) ? ` ${ch} ` : ch
    }
    if (stripAccents) out = out.normalize('NFD').replace(NONSPACING_MARKS, '')
    if (lowercase) out = Array.from(out, (ch) => ch.toLowerCase()).join('')
    return out
  }
}

// ---- truncation -----------------------------------------------------------------------------------------

/**
 * How many tokens of each sequence survive Hugging Face's 'longest_first' truncation to `budget` tokens
 * (special tokens already taken off). Mirrors tokenizers' `truncate_encodings`: the shorter sequence is kept
 * whole if the longer one can absorb the cut; otherwise both get half the budget, and the odd token goes to
 * the longer one, or to the second sequence when they are equally long.
 */
export function longestFirstLengths(first: number, second: number, budget: number): [number, number] {
  if (first + second <= budget) return [first, second]
  const swapped = first > second
  let short = Math.min(first, second)
  let long = short > budget ? short : Math.max(short, budget - short)
  if (short + long > budget) {
    short = Math.floor(budget / 2)
    long = short + (budget % 2)
  }
  return swapped ? [Math.min(first, long), Math.min(second, short)] : [Math.min(first, short), Math.min(second, long)]
}

/** One sequence's tokens; `partial`: only the start of the text was tokenised (see TextTokenizer.tokensOf). */
interface SequenceTokens {
  tokens: number[]
  partial: boolean
}

/** Tokens before a cut that may differ from the uncut text's (a word's last merges, a whitespace run). */
const cutMargin = 8
/** Past this many characters each, a pair's two long sequences are compared by their tokens so far. */
const pairOrderChars = 1 << 20

/** Characters tokenised first for a budget: 16 a token (real text has 3–6) plus room for a long first word. */
function initialChars(budget: number): number {
  return (budget + cutMargin + 1) * 16 + 1024
}

const WHITESPACE = /\s/

/**
 * Where to cut a long text at about `chars`: at the start of the next whitespace run within as many
 * characters again, so that no word or run is split; else at `chars`, never inside a surrogate pair.
 */
export function cutPosition(text: string, chars: number): number {
  if (chars >= text.length) return text.length
  const limit = Math.min(text.length, 2 * chars)
  for (let i = Math.max(1, chars); i < limit; i++) {
    if (WHITESPACE.test(text[i]!) && !WHITESPACE.test(text[i - 1]!)) return i
  }
  const unit = text.charCodeAt(chars)
  return unit >= 0xdc00 && unit <= 0xdfff ? chars + 1 : chars
}

type SpecialTokenName = 'bos' | 'eos' | 'unk' | 'sep' | 'cls' | 'pad' | 'mask'

/** A BPE or WordPiece tokenizer.json, built by @huggingface/tokenizers with its patterns bounded and BERT's normaliser fixed. */
function libraryCoreOf(json: JsonObject, config: JsonObject, tokenizerFile: string, splitSpecialTokens: boolean): SegmenterCore {
  let tokenizer: Tokenizer
  try {
    tokenizer = new Tokenizer(json, config)
  } catch (error) {
    throw new TokenizerLoadError(tokenizerFile, `cannot build the tokenizer: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  try {
    boundTokenizerPatterns(tokenizer, json, tokenizerFile)
  } catch (error) {
    if (!(error instanceof PatternError)) throw error
    throw new TokenizerLoadError(tokenizerFile, `${error.where.slice(tokenizerFile.length + 2)}: ${error.detail}`, { cause: error })
  }
  const normalizer = json['normalizer']
  if (isJsonObject(normalizer) && normalizer['type'] === 'BertNormalizer') {
    // The port's BertNormalizer differs from the Rust one (see bertNormalizer).
    const patched = tokenizer as unknown as { normalizer: (text: string) => string }
    patched.normalizer = bertNormalizer(normalizer as BertNormalizerConfig)
  }
  return libraryCore(tokenizer, json, splitSpecialTokens)
}

/** A Unigram tokenizer.json, run by unigramTokenizerJson.ts; a part it cannot run is refused naming its field. */
function unigramCoreOf(json: JsonObject, tokenizerFile: string, splitSpecialTokens: boolean): SegmenterCore {
  try {
    return unigramJsonCore(json, splitSpecialTokens)
  } catch (error) {
    if (error instanceof PipelineError) throw new TokenizerLoadError(tokenizerFile, error.message, { cause: error })
    if (error instanceof PatternError) throw new TokenizerLoadError(tokenizerFile, `${error.where}: ${error.detail}`, { cause: error })
    throw error
  }
}

/**
 * The checkpoint's own tokenizer (tokenizer.json + tokenizer_config.json + special_tokens_map.json),
 * with the truncation and padding Hugging Face applies when a model is fed batches; its ids are those of
 * transformers' fast tokenizer, i.e. of the Rust pipeline tokenizer.json describes (tests/unit/tokenizer/
 * transformers.test.ts). BPE and WordPiece files run on @huggingface/tokenizers, Unigram ones (SentencePiece:
 * DeBERTa-v3) on unigramTokenizerJson.ts; added tokens are found by addedTokens.ts in both. A folder without
 * tokenizer.json but with a Universal Sentence Encoder `vocab.json` gets that model's SentencePiece
 * segmentation (no special tokens; padding is masked out).
 */
export class TextTokenizer {
  private constructor(
    private readonly tokenizer: SegmenterCore,
    /** Id used for padding: pad_token, else eos_token (GPT-2 has no pad token). */
    readonly padId: number,
    readonly padLeft: boolean,
    readonly modelMaxLength: number | undefined,
    private readonly specialIds: Partial<Record<SpecialTokenName, number>>,
    /** RoBERTa-style processors give every token type id 0, whatever the sequence. */
    private readonly singleSegment: boolean,
    /** Where it was loaded from and how, so that a worker thread can load the same tokenizer. */
    readonly source: { checkpoint: string; options: TokenizerLoadOptions },
    private readonly native?: NativeSegmenter,
    /** Why encodeMany runs on the JS engine (undefined when it runs native). */
    readonly fallbackReason?: string
  ) {}

  /** Where the chat template comes from (tokenizer_config.json); set by load, parsed on first use. */
  private chatSource: ChatTemplateSource | undefined
  private chat: ChatTemplate | ChatTemplateError | undefined

  /**
   * The checkpoint's chat template, parsed once. Throws ChatTemplateError naming tokenizer_config.json when
   * the checkpoint has none (or it does not parse): chat data is never rendered with a made-up default.
   * Only chat data asks for it, so a checkpoint without a template loads as before for everything else.
   */
  chatTemplate(): ChatTemplate {
    if (this.chat === undefined) {
      const source = this.chatSource
      if (!source) this.chat = new ChatTemplateError(join(this.source.checkpoint, 'tokenizer_config.json'), 'this tokenizer has no tokenizer_config.json chat template to render conversations with')
      else {
        try {
          this.chat = ChatTemplate.fromSource(source)
        } catch (error) {
          if (!(error instanceof ChatTemplateError)) throw error
          this.chat = error
        }
      }
    }
    if (this.chat instanceof ChatTemplateError) throw this.chat
    return this.chat
  }

  /**
   * The engine encodeMany segments with. `encode` is synchronous and always runs the JS engine: the Rust
   * library encodes only asynchronously (on libuv's threads), so bulk encoding goes through encodeMany.
   */
  get engine(): TokenizerEngine {
    return this.native ? 'native' : 'js'
  }

  /**
   * `checkpoint`: the model's folder, or its weights file (the tokenizer files are beside it).
   * `options.splitSpecialTokens`: see TokenizerLoadOptions (transformers' split_special_tokens; by default the
   * checkpoint's tokenizer_config.json decides).
   */
  static async load(checkpoint: string, options: TokenizerLoadOptions = {}): Promise<TextTokenizer> {
    const dir = await checkpointFolder(checkpoint)
    const tokenizerFile = join(dir, 'tokenizer.json')
    const fromEnvironment = engineChoiceFromEnvironment()
    const choice = options.engine ?? fromEnvironment.choice
    const source = { checkpoint, options: { ...options, engine: choice } }
    const unigram = await loadUnigramVocabulary(dir, tokenizerFile)
    if (unigram) {
      const reason = 'the Universal Sentence Encoder vocabulary (vocab.json, no tokenizer.json) runs on the JS engine only'
      if (choice === 'native') throw new TokenizerLoadError(join(dir, 'vocab.json'), `the native tokenizer engine was asked for, but ${reason}`)
      return new TextTokenizer(sentenceEncoderCore(unigram), 0, false, useMaxLength, {}, true, source, undefined, choice === 'js' ? askedForJs(options) : reason)
    }
    const config = (await readJson(join(dir, 'tokenizer_config.json'), false)) ?? {}
    const json = applyConfig((await readJson(tokenizerFile, true))!, config)
    const problem = tokenizerJsonProblem(json)
    if (problem) throw new TokenizerLoadError(tokenizerFile, problem)
    const specials = (await readJson(join(dir, 'special_tokens_map.json'), false)) ?? {}
    const splitSpecialTokens = options.splitSpecialTokens ?? config['split_special_tokens'] === true
    const core = (json['model'] as JsonObject)['type'] === 'Unigram' ? unigramCoreOf(json, tokenizerFile, splitSpecialTokens) : libraryCoreOf(json, config, tokenizerFile, splitSpecialTokens)
    const pick = (key: string): string | undefined => tokenContent(config[key]) ?? tokenContent(specials[key])
    const specialIds: Partial<Record<SpecialTokenName, number>> = {}
    for (const name of ['bos', 'eos', 'unk', 'sep', 'cls', 'pad', 'mask'] as const) {
      const token = pick(`${name}_token`)
      const id = token === undefined ? undefined : core.tokenToId(token)
      if (id !== undefined) specialIds[name] = id
    }
    const padId = specialIds.pad ?? specialIds.eos
    if (padId === undefined) throw new TokenizerLoadError(tokenizerFile, 'no pad or end-of-text token to pad batches with')
    const maxLength = typeof config['model_max_length'] === 'number' && config['model_max_length'] < 1e9 ? config['model_max_length'] : undefined
    const postProcessor = json['post_processor']
    const singleSegment = isJsonObject(postProcessor) && postProcessor['type'] === 'RobertaProcessing'
    const padLeft = config['padding_side'] === 'left'
    const chatSource = chatTemplateSource(join(dir, 'tokenizer_config.json'), config, json, pick, specials)
    const withChat = (tokenizer: TextTokenizer): TextTokenizer => {
      tokenizer.chatSource = chatSource
      return tokenizer
    }
    if (choice === 'js') return withChat(new TextTokenizer(core, padId, padLeft, maxLength, specialIds, singleSegment, source, undefined, askedForJs(options)))
    let native = nativeSegmenter(json, splitSpecialTokens)
    const forJs = textsForJs(json)
    if (typeof native !== 'string' && forJs) native = routeSomeToJs(native, forJs, (text) => core.encode(text))
    let reason = typeof native === 'string' ? native : await probeDifference(core, native, json)
    if (reason !== undefined && fromEnvironment.note) reason = `${reason}; ${fromEnvironment.note}`
    if (reason !== undefined && choice === 'native') throw new TokenizerLoadError(tokenizerFile, `the native tokenizer engine was asked for, but ${reason}`)
    return withChat(new TextTokenizer(core, padId, padLeft, maxLength, specialIds, singleSegment, source, reason === undefined ? (native as NativeSegmenter) : undefined, reason))
  }

  get vocabularySize(): number {
    return this.tokenizer.vocabularySize
  }

  /** Beginning-of-sequence token (<s>, <|endoftext|>), if the checkpoint names one. */
  get bosId(): number | undefined {
    return this.specialIds.bos
  }

  /** End-of-sequence token: what a causal LM is taught to stop with. */
  get eosId(): number | undefined {
    return this.specialIds.eos
  }

  get clsId(): number | undefined {
    return this.specialIds.cls
  }

  get sepId(): number | undefined {
    return this.specialIds.sep
  }

  get maskId(): number | undefined {
    return this.specialIds.mask
  }

  get unkId(): number | undefined {
    return this.specialIds.unk
  }

  encode(text: string, options: EncodeOptions = {}): EncodedText {
    return runSteps(this.encodeSteps(text, options), (piece) => this.tokenizer.encode(piece))
  }

  /**
   * Many texts at once, each exactly as `encode` gives it: on the native engine the texts of every round
   * (whole texts first, then longer prefixes of the few over-long ones) go to the Rust library as one batch,
   * which it spreads over its threads. A text that cannot be tokenised rejects with an EncodeRequestError
   * naming its index.
   */
  async encodeMany(requests: readonly EncodeRequest[]): Promise<EncodedText[]> {
    const native = this.native
    if (!native) {
      return requests.map((request, index) => {
        try {
          return this.encode(request.text, request)
        } catch (error) {
          throw new EncodeRequestError(index, describeError(error), { cause: error })
        }
      })
    }
    const results = new Array<EncodedText>(requests.length)
    const active: { index: number; steps: Steps<EncodedText>; asks: readonly string[] }[] = []
    const advance = (index: number, steps: Steps<EncodedText>, answer?: number[][]): void => {
      let next: IteratorResult<readonly string[], EncodedText>
      try {
        next = answer === undefined ? steps.next() : steps.next(answer)
      } catch (error) {
        throw new EncodeRequestError(index, describeError(error), { cause: error })
      }
      if (next.done) results[index] = next.value
      else active.push({ index, steps, asks: next.value })
    }
    requests.forEach((request, index) => advance(index, this.encodeSteps(request.text, request)))
    while (active.length > 0) {
      const round = active.splice(0)
      const texts = round.flatMap((item) => item.asks)
      const ids = await this.segmentNatively(native, round, texts)
      let at = 0
      for (const item of round) {
        advance(item.index, item.steps, ids.slice(at, at + item.asks.length))
        at += item.asks.length
      }
    }
    return results
  }

  /** One batch on the native engine; when it fails, the request at fault is found text by text and named. */
  private async segmentNatively(native: NativeSegmenter, round: readonly { index: number; asks: readonly string[] }[], texts: string[]): Promise<number[][]> {
    try {
      return await native.segment(texts)
    } catch (batchError) {
      for (const item of round) {
        try {
          await native.segment(item.asks)
        } catch (error) {
          throw new EncodeRequestError(item.index, describeError(error), { cause: error })
        }
      }
      throw batchError
    }
  }

  /** How many ids the template adds around one sequence or a pair (fixed for a tokenizer, so counted once). */
  private specialTokenCount(pair: boolean, addSpecialTokens: boolean): number {
    const key = (pair ? 2 : 0) + (addSpecialTokens ? 1 : 0)
    let count = this.templateSizes[key]
    if (count === undefined) this.templateSizes[key] = count = this.tokenizer.postProcess([], pair ? [] : undefined, addSpecialTokens).ids.length
    return count
  }

  private readonly templateSizes: (number | undefined)[] = []

  /** The steps of one encode: each yield asks for the ids of some texts (see Steps). */
  private *encodeSteps(text: string, options: EncodeOptions): Steps<EncodedText> {
    const addSpecialTokens = options.addSpecialTokens ?? true
    const { maxLength } = options
    // What max_length leaves for the text once the template's special tokens are in.
    const added = maxLength === undefined ? 0 : this.specialTokenCount(options.pair !== undefined, addSpecialTokens)
    const budget = maxLength === undefined ? undefined : Math.max(0, maxLength - added)
    const [one, two] = options.pair === undefined ? [yield* this.tokensOf(text, budget), undefined] : yield* this.pairTokens(text, options.pair, budget)
    let first = one.tokens
    let second = two?.tokens
    const partial = one.partial || (two?.partial ?? false)
    let processed = this.tokenizer.postProcess(first, second, addSpecialTokens)
    const fullLength = processed.ids.length
    let truncated = false
    if (maxLength !== undefined && budget !== undefined && fullLength > maxLength) {
      // Cut the sequences themselves, then let the post-processor add the specials again (as tokenizers does).
      if (second) {
        const [keepFirst, keepSecond] = longestFirstLengths(first.length, second.length, budget)
        first = first.slice(0, keepFirst)
        second = second.slice(0, keepSecond)
      } else {
        first = first.slice(0, budget)
      }
      const cut = this.tokenizer.postProcess(first, second, addSpecialTokens)
      processed = { ids: cut.ids.slice(0, maxLength), typeIds: cut.typeIds?.slice(0, maxLength) }
      truncated = true
    }
    const { ids } = processed
    const attentionMask = ids.map(() => 1)
    const tokenTypeIds = !this.singleSegment && processed.typeIds ? processed.typeIds : ids.map(() => 0)
    if (options.padToMaxLength && maxLength !== undefined && ids.length < maxLength) {
      const padding = maxLength - ids.length
      const pad = (values: number[], value: number): number[] =>
        this.padLeft ? [...new Array<number>(padding).fill(value), ...values] : [...values, ...new Array<number>(padding).fill(value)]
      return { ids: pad(ids, this.padId), attentionMask: pad(attentionMask, 0), tokenTypeIds: pad(tokenTypeIds, 0), fullLength, truncated, partial }
    }
    return { ids, attentionMask, tokenTypeIds, fullLength, truncated, partial }
  }

  /**
   * The tokens of `text`, or, when only `budget` of them can be kept, of enough of its start: a 10 MB row was
   * tokenised whole (2 GB of token strings) to keep 512 ids. Tokenisers are local: a text cut at the start of
   * a whitespace run has the uncut text's tokens except near the cut. So the start is tokenised, four times
   * longer each round, until it yields more than the budget plus `cutMargin` tokens, and those last ones
   * (which the cut may have changed) are dropped. A text that never gets there is tokenised whole, so a row
   * that fits in max_length is tokenised exactly as before, and one that does not still counts as too long.
   */
  private *tokensOf(text: string, budget: number | undefined): Steps<SequenceTokens> {
    if (budget === undefined) return { tokens: (yield [text])[0]!, partial: false }
    for (let chars = initialChars(budget); ; chars *= 4) {
      const tokens = yield* this.prefixTokens(text, chars)
      if (!tokens.partial || tokens.tokens.length > budget) return tokens
    }
  }

  private *prefixTokens(text: string, chars: number): Steps<SequenceTokens> {
    const end = cutPosition(text, chars)
    if (end >= text.length) return { tokens: (yield [text])[0]!, partial: false }
    const tokens = (yield [text.slice(0, end)])[0]!
    return { tokens: tokens.slice(0, Math.max(0, tokens.length - cutMargin)), partial: true }
  }

  /**
   * Both sequences of a pair, each cut as tokensOf cuts. Longest-first truncation gives an odd budget's last
   * token to the longer sequence, so when both were cut, more of both is tokenised until one ends and the
   * other's tokens so far outnumber it; past `pairOrderChars` characters, the one with more tokens so far counts
   * as the longer (HF would tokenise both whole to decide one token).
   */
  private *pairTokens(text: string, pair: string, budget: number | undefined): Steps<[SequenceTokens, SequenceTokens]> {
    let first = yield* this.tokensOf(text, budget)
    let second = yield* this.tokensOf(pair, budget)
    if (budget === undefined || budget % 2 === 0 || !(first.partial || second.partial)) return [first, second]
    for (let chars = initialChars(budget) * 4; chars <= pairOrderChars; chars *= 4) {
      const known = !first.partial || !second.partial
      if (known && (first.partial ? first.tokens.length > second.tokens.length : second.tokens.length > first.tokens.length)) break
      if (!first.partial && !second.partial) break
      if (first.partial) first = yield* this.prefixTokens(text, chars)
      if (second.partial) second = yield* this.prefixTokens(pair, chars)
    }
    return [first, second]
  }

  decode(ids: number[], skipSpecialTokens = true): string {
    return this.tokenizer.decode(ids, skipSpecialTokens)
  }
}

/**
 * What a chat template is rendered with, as transformers' apply_chat_template has it: the template in
 * tokenizer_config.json, the special tokens of its `special_tokens_map` as text (only those set, so a
 * checkpoint without a bos token leaves `bos_token` undefined), and the text of every added token marked
 * special in tokenizer.json (where the end-of-turn markers are).
 */
function chatTemplateSource(file: string, config: JsonObject, json: JsonObject, pick: (key: string) => string | undefined, specials: JsonObject): ChatTemplateSource {
  const variables: Record<string, string | string[]> = {}
  for (const name of ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask'] as const) {
    const token = pick(`${name}_token`)
    if (token !== undefined) variables[`${name}_token`] = token
  }
  const additional = config['additional_special_tokens'] ?? specials['additional_special_tokens']
  if (Array.isArray(additional)) variables['additional_special_tokens'] = additional.map(tokenContent).filter((token): token is string => token !== undefined)
  const added = Array.isArray(json['added_tokens']) ? (json['added_tokens'] as unknown[]) : []
  const specialTokens = added.filter((token): token is JsonObject => isJsonObject(token) && token['special'] === true && typeof token['content'] === 'string').map((token) => token['content'] as string)
  return { file, config, variables, specialTokens }
}

/** Text for the load-time check that the two engines agree: scripts, accents, spacing, digits, emoji. */
const probeText = "Hello, world! It's 3.14159 — naïve café, ΟΔΟΣ Straße; 北京 東京 한국어 ภาษาไทย\t tabs  and\n\nlines 👨‍👩‍👧 🎉"

/**
 * The native engine's ids on a probe text (with each added token of the file inside it) against the JS
 * core's: a file the two read differently stays on the JS engine, whose ids the tests hold to transformers'.
 * undefined when they agree.
 */
async function probeDifference(core: SegmenterCore, native: NativeSegmenter, json: JsonObject): Promise<string | undefined> {
  const added = Array.isArray(json['added_tokens']) ? (json['added_tokens'] as JsonObject[]).map((token) => String(token['content'])).slice(0, 64) : []
  for (const text of [probeText, ` ${added.join(' x ')} ${probeText}`]) {
    // A text both refuse (a Unigram file without unk_id, a character no piece spells) is no difference.
    const jsIds = attempt(() => core.encode(text))
    const nativeIds = await native.segment([text]).then(([ids]) => ({ ids: ids! }), (error: unknown) => ({ error: describeError(error) }))
    if ('error' in jsIds && 'error' in nativeIds) continue
    if ('error' in nativeIds) return `the native engine fails on a probe text the JS engine reads (${nativeIds.error}), so the JS engine is used`
    if ('error' in jsIds || jsIds.ids.join() !== nativeIds.ids.join()) return `the native and JS engines give different ids for a probe text (${JSON.stringify(text.slice(0, 40))}…), so the JS engine is used`
  }
  return undefined
}

function attempt(encode: () => number[]): { ids: number[] } | { error: string } {
  try {
    return { ids: encode() }
  } catch (error) {
    return { error: describeError(error) }
  }
}

/** The Universal Sentence Encoder lite clips every text to its first 128 pieces. */
const useMaxLength = 128

/**
 * A Universal Sentence Encoder vocab.json beside a model.json, when the folder has no tokenizer.json.
 * undefined when there is a tokenizer.json or no such vocabulary (the caller then reports tokenizer.json missing).
 */
async function loadUnigramVocabulary(dir: string, tokenizerFile: string): Promise<UnigramVocabulary | undefined> {
  const hasTokenizerJson = await access(tokenizerFile).then(
    () => true,
    () => false
  )
  if (hasTokenizerJson) return undefined
  const file = join(dir, 'vocab.json')
  let text: string
  try {
    text = await readRegularTextFile(file, maxJsonBytes)
  } catch {
    return undefined
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new TokenizerLoadError(file, `not valid JSON: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  try {
    return UnigramVocabulary.fromJson(value, file)
  } catch (error) {
    throw new TokenizerLoadError(file, error instanceof Error ? error.message : String(error), { cause: error })
  }
}
