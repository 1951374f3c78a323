import { isJsonObject, type JsonObject } from '../io/jsonFile'

/**
 * tokenizer.json's `added_tokens` ([CLS], <|endoftext|>, <mask>, …) found in a text before the model sees it,
 * with the semantics of Hugging Face tokenizers' AddedVocabulary (the Rust library every fast tokenizer runs):
 * - tokens with `normalized: false` are looked for in the raw text; what lies between them is normalised,
 *   and then the `normalized: true` ones are looked for, in their normalised spelling, in each normalised piece;
 * - a search takes the leftmost match, the longest of those starting there, and goes on after it;
 * - `single_word` skips a match that touches a word character (Unicode `\w`) on either side;
 * - `lstrip` / `rstrip` take the whitespace (Unicode White_Space, not JavaScript's trim set) next to the token
 *   into it, never what an earlier match already took;
 * - with `splitSpecialTokens` (transformers' split_special_tokens, tokenizers' encode_special_tokens) a match
 *   on a special token is skipped, so its text reaches the model as ordinary text.
 */

export interface AddedTokenSpec {
  id: number
  content: string
  special: boolean
  lstrip: boolean
  rstrip: boolean
  singleWord: boolean
  normalized: boolean
}

/** A piece of the text: an added token (`id`), or normalised text between them. */
export type TextSegment =
  | { id: number }
  | {
      text: string
      /** The piece starts the whole text (what Metaspace's prepend_scheme "first" asks). */
      atStart: boolean
    }

/** added_tokens as tokenizer.json writes them (already checked by tokenizerJsonProblem). */
export function addedTokenSpecs(json: JsonObject): AddedTokenSpec[] {
  const list = Array.isArray(json['added_tokens']) ? (json['added_tokens'] as unknown[]) : []
  return list.filter(isJsonObject).map((token) => {
    const special = token['special'] === true
    return {
      id: token['id'] as number,
      content: token['content'] as string,
      special,
      lstrip: token['lstrip'] === true,
      rstrip: token['rstrip'] === true,
      singleWord: token['single_word'] === true,
      // The Rust AddedToken's default when the field is missing: special tokens are not normalised.
      normalized: typeof token['normalized'] === 'boolean' ? token['normalized'] : !special
    }
  })
}

const WORD_AT_END = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u
const WORD_AT_START = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u
const WHITE_SPACE = /\p{White_Space}/u

const isWhiteSpaceAt = (text: string, index: number): boolean => index >= 0 && index < text.length && WHITE_SPACE.test(text[index]!)

interface TrieNode {
  next: Map<number, TrieNode>
  token?: AddedTokenSpec
}

/** Leftmost-longest matching of a set of strings, by UTF-16 unit (the contents are whole strings, so a match never splits a character). */
class TokenSet {
  private readonly root: TrieNode = { next: new Map() }
  readonly size: number

  constructor(entries: readonly (readonly [string, AddedTokenSpec])[]) {
    for (const [spelling, token] of entries) {
      let node = this.root
      for (let i = 0; i < spelling.length; i++) {
        const unit = spelling.charCodeAt(i)
        let child = node.next.get(unit)
        if (!child) node.next.set(unit, (child = { next: new Map() }))
        node = child
      }
      // A spelling given twice: the first keeps the place (as the Rust library's first pattern wins a tie).
      node.token ??= token
    }
    this.size = entries.length
  }

  /** Non-overlapping matches, each the longest of those starting at the leftmost place left. */
  *matches(text: string): Generator<{ start: number; end: number; token: AddedTokenSpec }> {
    for (let i = 0; i < text.length; ) {
      let node: TrieNode | undefined = this.root
      let found: { end: number; token: AddedTokenSpec } | undefined
      for (let j = i; j < text.length; j++) {
        node = node.next.get(text.charCodeAt(j))
        if (!node) break
        if (node.token) found = { end: j + 1, token: node.token }
      }
      if (found) {
        yield { start: i, end: found.end, token: found.token }
        i = found.end
      } else {
        i++
      }
    }
  }
}

export class AddedTokenSplitter {
  private readonly raw: TokenSet
  private readonly normalizedSet: TokenSet

  constructor(
    tokens: readonly AddedTokenSpec[],
    private readonly normalize: ((text: string) => string) | null,
    private readonly splitSpecialTokens: boolean
  ) {
    // As the Rust AddedVocabulary: one entry per content (the last one given wins its id), empty ones dropped.
    const byContent = new Map<string, AddedTokenSpec>()
    for (const token of tokens) if (token.content.length > 0) byContent.set(token.content, token)
    const all = [...byContent.values()]
    this.raw = new TokenSet(all.filter((t) => !t.normalized).map((t) => [t.content, t] as const))
    this.normalizedSet = new TokenSet(all.filter((t) => t.normalized).map((t) => [normalize ? normalize(t.content) : t.content, t] as const))
  }

  /** The text's added tokens and the normalised pieces between them, in order; empty pieces are left out. */
  split(text: string): TextSegment[] {
    const out: TextSegment[] = []
    for (const piece of this.find(text, this.raw)) {
      if ('id' in piece) {
        out.push({ id: piece.id })
        continue
      }
      const normalized = this.normalize ? this.normalize(piece.text) : piece.text
      for (const sub of this.find(normalized, this.normalizedSet)) {
        if ('id' in sub) out.push({ id: sub.id })
        else if (sub.text.length > 0) out.push({ text: sub.text, atStart: piece.start === 0 && sub.start === 0 })
      }
    }
    return out
  }

  /** tokenizers' find_matches: the whole text as pieces, with the added tokens' ids. */
  private find(text: string, set: TokenSet): ({ id: number } | { text: string; start: number })[] {
    if (set.size === 0 || text.length === 0) return [{ text, start: 0 }]
    const pieces: ({ id: number } | { text: string; start: number })[] = []
    let taken = 0
    for (const match of set.matches(text)) {
      const { token } = match
      if (this.splitSpecialTokens && token.special) continue
      let { start, end } = match
      if (token.singleWord) {
        const wordBefore = start > 0 && WORD_AT_END.test(text.slice(Math.max(0, start - 2), start))
        const wordAfter = end < text.length && WORD_AT_START.test(text.slice(end, end + 2))
        if (wordBefore || wordAfter) continue
      }
      if (token.lstrip) {
        let from = start
        while (isWhiteSpaceAt(text, from - 1)) from--
        start = Math.max(from, taken)
      }
      if (token.rstrip) while (isWhiteSpaceAt(text, end)) end++
      if (taken < start) pieces.push({ text: text.slice(taken, start), start: taken })
      pieces.push({ id: token.id })
      taken = end
    }
    if (taken < text.length) pieces.push({ text: text.slice(taken), start: taken })
    return pieces
  }
}
