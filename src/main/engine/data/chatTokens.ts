import type { RenderedChat } from './chatTemplate'
import type { EncodedText, EncodeRequest } from './tokenizer'

/** A rendered conversation's token ids, cut to the limit, with the token ranges that get loss. */
export interface ChatTokens {
  ids: number[]
  fullLength: number
  partial: boolean
  /** [start, end) token ranges of the assistant spans, in order, within `ids`; empty ones dropped. */
  lossSpans: [number, number][]
}

/** What the encode of one conversation asks of the tokenizer, and gets back (as TextTokenizer's own steps). */
export type ChatTokenSteps = Generator<EncodeRequest[], ChatTokens, EncodedText[]>

/**
 * The tokens of a rendered conversation and where its character spans fall among them.
 *
 * The whole rendering is tokenised once, without added special tokens (the template writes them), as
 * transformers' apply_chat_template(tokenize=True) does; that is what the model reads. A character
 * boundary `c` then maps to the number of leading tokens that spell `text[:c]`: the length of the longest
 * common prefix of the tokens of `text[:c]` and of the whole text. Where a boundary falls between tokens
 * (always, after a special token; nearly always elsewhere), that is exactly the token count of `text[:c]`;
 * where one token spans it (a merge across the boundary), that token goes with what follows, so an
 * assistant turn's first token is taught even when it carries the end of the template's header.
 *
 * To find that without tokenising one prefix per boundary, the text is first cut at every boundary and
 * the pieces tokenised apart: when their tokens, one after another, are the whole text's, the boundaries
 * fall between tokens and their counts are read off. Otherwise (a merge across a cut, or a tokenizer that
 * treats the start of a text specially, as SentencePiece's prefix space does) each prefix is tokenised.
 * Truncation keeps the start (maxLength ids); spans past it are cut or dropped.
 */
export function* chatTokenSteps(rendered: RenderedChat, maxLength: number): ChatTokenSteps {
  const { text, spans } = rendered
  const bounds = [...new Set(spans.flat())].filter((b) => b > 0 && b < text.length).sort((a, b) => a - b)
  const request = (piece: string): EncodeRequest => ({ text: piece, addSpecialTokens: false, maxLength })
  const cuts = [0, ...bounds, text.length]
  const pieces = cuts.slice(1).map((end, i) => text.slice(cuts[i]!, end))
  const [whole, ...parts] = yield [request(text), ...pieces.map(request)]
  const kept = whole!.ids
  const tokenAt = new Map<number, number>([
    [0, 0],
    [text.length, kept.length]
  ])

  // Pieces apart: do their tokens, one after another, spell the kept ids?
  let count = 0
  let agree = true
  parts.forEach((part, i) => {
    if (!agree || count >= kept.length) return
    for (let j = 0; j < part.ids.length && count + j < kept.length; j++) {
      if (part.ids[j] !== kept[count + j]) {
        agree = false
        return
      }
    }
    // fullLength: a piece cut at maxLength has at least that many tokens, so every later boundary is past the limit.
    count += part.fullLength
    if (i < bounds.length) tokenAt.set(bounds[i]!, Math.min(count, kept.length))
  })
  if (!agree || count < kept.length) {
    const prefixes = yield bounds.map((b) => ({ text: text.slice(0, b), addSpecialTokens: false, maxLength: Math.max(1, kept.length) }))
    bounds.forEach((b, i) => tokenAt.set(b, commonPrefix(prefixes[i]!.ids, kept)))
  } else {
    // Boundaries past the limit, never reached by the loop above.
    for (const b of bounds) if (!tokenAt.has(b)) tokenAt.set(b, kept.length)
  }

  const lossSpans: [number, number][] = []
  for (const [start, end] of spans) {
    const from = Math.min(tokenAt.get(start)!, kept.length)
    const to = Math.min(tokenAt.get(end)!, kept.length)
    if (to > from) lossSpans.push([from, to])
  }
  return { ids: kept, fullLength: whole!.fullLength, partial: whole!.partial, lossSpans }
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a[i] === b[i]) i++
  return i
}

/** Runs the steps to the end with a synchronous encoder (TextTokenizer.encode). */
export function runChatTokenSteps(steps: ChatTokenSteps, encode: (request: EncodeRequest) => EncodedText): ChatTokens {
  let next = steps.next()
  while (!next.done) next = steps.next(next.value.map(encode))
  return next.value
}
