import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Tokenizer } from '@huggingface/tokenizers'

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
  /** Length in ids before truncation and padding: what validation reports as "too long". */
  fullLength: number
  truncated: boolean
}

interface PostProcessor {
  post_process(tokens: string[], pair?: string[] | null, addSpecialTokens?: boolean): { tokens: string[]; tokens_pair?: string[]; token_type_ids?: number[] }
}

type JsonObject = Record<string, unknown>

async function readJson(file: string, required: boolean): Promise<JsonObject | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new TokenizerLoadError(file, (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found: the checkpoint has no tokenizer.json' : String(error), { cause: error })
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

/**
 * The checkpoint's own tokenizer (tokenizer.json + tokenizer_config.json + special_tokens_map.json),
 * with the truncation and padding Hugging Face applies when a model is fed batches.
 */
export class TextTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    /** Id used for padding: pad_token, else eos_token (GPT-2 has no pad token). */
    readonly padId: number,
    readonly padLeft: boolean,
    readonly modelMaxLength: number | undefined,
    /** End-of-text id (eos_token), appended to causal-LM examples; undefined when the tokenizer has none. */
    readonly eosId: number | undefined
  ) {}

  static async load(dir: string): Promise<TextTokenizer> {
    const tokenizerFile = join(dir, 'tokenizer.json')
    const json = (await readJson(tokenizerFile, true))!
    const config = (await readJson(join(dir, 'tokenizer_config.json'), false)) ?? {}
    const specials = (await readJson(join(dir, 'special_tokens_map.json'), false)) ?? {}
    let tokenizer: Tokenizer
    try {
      tokenizer = new Tokenizer(json, config)
    } catch (error) {
      throw new TokenizerLoadError(tokenizerFile, `cannot build the tokenizer: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
    const pick = (key: string): string | undefined => tokenContent(config[key]) ?? tokenContent(specials[key])
    const padToken = pick('pad_token') ?? pick('eos_token')
    const padId = padToken === undefined ? undefined : tokenizer.token_to_id(padToken)
    if (padId === undefined) throw new TokenizerLoadError(tokenizerFile, 'no pad or end-of-text token to pad batches with')
    const maxLength = typeof config['model_max_length'] === 'number' && config['model_max_length'] < 1e9 ? config['model_max_length'] : undefined
    const eosToken = pick('eos_token')
    const eosId = eosToken === undefined ? undefined : tokenizer.token_to_id(eosToken)
    return new TextTokenizer(tokenizer, padId, config['padding_side'] === 'left', maxLength, eosId)
  }

  get vocabularySize(): number {
    return this.tokenizer.get_vocab(true).size
  }

  encode(text: string, options: EncodeOptions = {}): EncodedText {
    const addSpecialTokens = options.addSpecialTokens ?? true
    let first = this.tokenizer.tokenize(text, { add_special_tokens: false })
    let second = options.pair === undefined ? undefined : this.tokenizer.tokenize(options.pair, { add_special_tokens: false })
    const processed = this.postProcess(first, second, addSpecialTokens)
    const fullLength = processed.tokens.length
    let tokens = processed.tokens
    let typeIds = processed.token_type_ids
    const { maxLength } = options
    let truncated = false
    if (maxLength !== undefined && fullLength > maxLength) {
      // Cut the sequences themselves, longest first, then let the post-processor add the specials again.
      let excess = fullLength - maxLength
      while (excess > 0) {
        if (second && second.length >= first.length && second.length > 0) second = second.slice(0, -1)
        else if (first.length > 0) first = first.slice(0, -1)
        else break
        excess--
      }
      const cut = this.postProcess(first, second, addSpecialTokens)
      tokens = cut.tokens.slice(0, maxLength)
      typeIds = cut.token_type_ids?.slice(0, maxLength)
      truncated = true
    }
    const ids = tokens.map((token) => {
      const id = this.tokenizer.token_to_id(token)
      if (id === undefined) throw new Error(`token ${JSON.stringify(token)} is not in the vocabulary`)
      return id
    })
    const attentionMask = ids.map(() => 1)
    const tokenTypeIds = typeIds ?? ids.map(() => 0)
    if (options.padToMaxLength && maxLength !== undefined && ids.length < maxLength) {
      const padding = maxLength - ids.length
      const pad = (values: number[], value: number): number[] =>
        this.padLeft ? [...new Array<number>(padding).fill(value), ...values] : [...values, ...new Array<number>(padding).fill(value)]
      return { ids: pad(ids, this.padId), attentionMask: pad(attentionMask, 0), tokenTypeIds: pad(tokenTypeIds, 0), fullLength, truncated }
    }
    return { ids, attentionMask, tokenTypeIds, fullLength, truncated }
  }

  decode(ids: number[], skipSpecialTokens = true): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: skipSpecialTokens })
  }

  private postProcess(first: string[], second: string[] | undefined, addSpecialTokens: boolean): { tokens: string[]; token_type_ids?: number[] } {
    const processor = this.tokenizer.post_processor as unknown as PostProcessor | null
    if (processor) {
      const out = processor.post_process(first, second ?? null, addSpecialTokens)
      // Some processors (GPT-2's ByteLevel) hand the pair back separately: the model sees them joined.
      if (out.tokens_pair) {
        const types = out.token_type_ids ?? [...out.tokens.map(() => 0), ...out.tokens_pair.map(() => 1)]
        return { tokens: [...out.tokens, ...out.tokens_pair], token_type_ids: types }
      }
      return { tokens: out.tokens, token_type_ids: out.token_type_ids }
    }
    const tokens = second ? [...first, ...second] : first
    return { tokens, token_type_ids: second ? [...first.map(() => 0), ...second.map(() => 1)] : undefined }
  }
}
