import type { Tokenizer } from '@huggingface/tokenizers'
import type { JsonObject } from '../io/jsonFile'
import { addedTokenSpecs, AddedTokenSplitter } from './addedTokens'
import type { UnigramVocabulary } from './sentencePiece'
import { unigramPipeline } from './unigramTokenizerJson'

/**
 * What TextTokenizer needs of a segmenter, on ids: a tokenizer.json run by @huggingface/tokenizers (BPE,
 * WordPiece), a Unigram tokenizer.json run by unigramTokenizerJson.ts, or the Universal Sentence Encoder's
 * SentencePiece vocabulary.
 */
export interface SegmenterCore {
  readonly vocabularySize: number
  /** The ids of a text, without the template's special tokens. */
  encode(text: string): number[]
  /** The id of a token named in the tokenizer files (a special token, usually). */
  tokenToId(token: string): number | undefined
  decode(ids: number[], skipSpecialTokens: boolean): string
  /** The template's special tokens around one or two sequences, with segment ids when the template gives them. */
  postProcess(first: number[], second: number[] | undefined, addSpecialTokens: boolean): { ids: number[]; typeIds?: number[] }
}

/** The library's pipeline parts, which it keeps public (normalizer, pre_tokenizer, model are callables). */
interface LibraryParts {
  normalizer: ((text: string) => string) | null
  pre_tokenizer: ((text: string, options: { section_index: number }) => string[]) | null
  model: (words: string[]) => string[]
  post_processor: {
    post_process(tokens: unknown[], pair: unknown[] | null, addSpecialTokens: boolean): { tokens: unknown[]; tokens_pair?: unknown[] | null; token_type_ids?: number[] }
  } | null
}

/**
 * @huggingface/tokenizers' normaliser, pre-tokeniser, model and post-processor, with the added tokens found
 * as the Rust library finds them (addedTokens.ts): the port trims JavaScript's whitespace beside an lstrip
 * token (U+FEFF, not U+0085) and cannot leave special tokens as text.
 */
export function libraryCore(tokenizer: Tokenizer, json: JsonObject, splitSpecialTokens: boolean): SegmenterCore {
  const parts = tokenizer as unknown as LibraryParts
  const normalize = parts.normalizer
  const splitter = new AddedTokenSplitter(addedTokenSpecs(json), normalize ? (text) => normalize(text) : null, splitSpecialTokens)
  const toId = (token: string): number => {
    const id = tokenizer.token_to_id(token)
    if (id === undefined) throw new Error(`token ${JSON.stringify(token)} is not in the vocabulary`)
    return id
  }
  return {
    get vocabularySize() {
      return tokenizer.get_vocab(true).size
    },
    encode(text) {
      const ids: number[] = []
      for (const segment of splitter.split(text)) {
        if ('id' in segment) {
          ids.push(segment.id)
          continue
        }
        // The library's Metaspace reads section_index 0 as "starts the text" (prepend_scheme "first").
        const words = parts.pre_tokenizer ? parts.pre_tokenizer(segment.text, { section_index: segment.atStart ? 0 : 1 }) : [segment.text]
        for (const token of parts.model(words)) ids.push(toId(token))
      }
      return ids
    },
    tokenToId: (token) => tokenizer.token_to_id(token),
    decode: (ids, skipSpecialTokens) => tokenizer.decode(ids, { skip_special_tokens: skipSpecialTokens }),
    postProcess(first, second, addSpecialTokens) {
      const processor = parts.post_processor
      if (!processor) return { ids: [...first, ...(second ?? [])], typeIds: second ? [...first.map(() => 0), ...second.map(() => 1)] : undefined }
      // The processors only place the sequences and add special tokens by name: ids pass through them untouched.
      const out = processor.post_process(first, second ?? null, addSpecialTokens)
      const ids = (items: unknown[]): number[] => items.map((item) => (typeof item === 'number' ? item : toId(item as string)))
      // Some processors (GPT-2's ByteLevel) hand the pair back separately: the model sees them joined.
      if (out.tokens_pair) {
        const typeIds = out.token_type_ids ?? [...out.tokens.map(() => 0), ...out.tokens_pair.map(() => 1)]
        return { ids: ids([...out.tokens, ...out.tokens_pair]), typeIds }
      }
      return { ids: ids(out.tokens), typeIds: out.token_type_ids }
    }
  }
}

/** A Unigram tokenizer.json (DeBERTa-v3 and the other SentencePiece checkpoints); throws PipelineError naming a field it cannot run. */
export function unigramJsonCore(json: JsonObject, splitSpecialTokens: boolean): SegmenterCore {
  const pipeline = unigramPipeline(json)
  const added = addedTokenSpecs(json)
  const splitter = new AddedTokenSplitter(added, pipeline.normalize, splitSpecialTokens)
  const addedIds = new Map(added.map((token) => [token.content, token.id]))
  const addedById = new Map(added.map((token) => [token.id, token]))
  const { model } = pipeline
  return {
    vocabularySize: Math.max(model.size, ...added.map((token) => token.id + 1)),
    encode(text) {
      const ids: number[] = []
      for (const segment of splitter.split(text)) {
        if ('id' in segment) ids.push(segment.id)
        else for (const word of pipeline.preTokenize(segment.text, segment.atStart)) ids.push(...model.encode(word))
      }
      return ids
    },
    tokenToId: (token) => addedIds.get(token) ?? model.tokenToId(token),
    decode(ids, skipSpecialTokens) {
      const pieces: string[] = []
      for (const id of ids) {
        const token = addedById.get(id)
        if (token?.special && skipSpecialTokens) continue
        pieces.push(token?.content ?? model.pieces[id]?.[0] ?? '')
      }
      const text = pieces.join('').replaceAll(pipeline.replacement, ' ')
      return pipeline.prepends && text.startsWith(' ') ? text.slice(1) : text
    },
    postProcess: pipeline.postProcess
  }
}

/** The Universal Sentence Encoder's vocabulary: no special tokens, pairs joined. */
export function sentenceEncoderCore(vocabulary: UnigramVocabulary): SegmenterCore {
  return {
    vocabularySize: vocabulary.size,
    encode: (text) => vocabulary.encode(text),
    tokenToId: () => undefined,
    decode: (ids) => vocabulary.decode(ids),
    postProcess: (first, second) => ({ ids: second ? [...first, ...second] : first, typeIds: second ? [...first.map(() => 0), ...second.map(() => 1)] : undefined })
  }
}
