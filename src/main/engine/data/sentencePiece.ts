/**
 * The tokenizer of Google's Universal Sentence Encoder lite: a SentencePiece unigram vocabulary
 * (`vocab.json`, a list of [piece, log-probability]) segmented by the best-scoring path through the
 * lattice of pieces, the way the TensorFlow.js port of the model segments text. Its rules, which the model
 * was run with and which the reference test pins down:
 * - NFKC, then every space becomes ▁ and one ▁ goes in front;
 * - the first six entries (unknown, control and user symbols) are never matched;
 * - a UTF-16 code unit that starts no piece becomes the unknown piece (id 0, score 0), and runs of
 *   unknowns collapse into one;
 * - a piece with no score counts 0; when two pieces share a spelling the later one wins;
 * - ties go to the later-starting piece.
 */

export const pieceSeparator = '\u2581'

/** Entries before this index (unknown, control and user-defined symbols) are not matched in text. */
const reservedPieces = 6
const unknownId = 0

interface Piece {
  id: number
  score: number
}

export class UnigramVocabulary {
  private readonly pieces = new Map<string, Piece>()
  private readonly longest: number

  /** `entries[i]` is [piece, score] for id i; throws naming the first bad entry. */
  constructor(
    readonly entries: readonly (readonly [string, number | null])[],
    where = 'vocab.json'
  ) {
    if (entries.length <= reservedPieces) throw new Error(`${where}: ${entries.length} entries; a SentencePiece vocabulary has more than ${reservedPieces}`)
    let longest = 1
    entries.forEach((entry, id) => {
      if (id < reservedPieces) return
      const [piece, score] = entry
      this.pieces.set(piece, { id, score: score ?? 0 })
      longest = Math.max(longest, piece.length)
    })
    this.longest = longest
  }

  /** Read a parsed vocab.json; undefined when it is not a list of [string, number|null] pairs. */
  static fromJson(value: unknown, where = 'vocab.json'): UnigramVocabulary | undefined {
    if (!Array.isArray(value) || value.length === 0) return undefined
    const isEntry = (entry: unknown): entry is [string, number | null] =>
      Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string' && (entry[1] === null || typeof entry[1] === 'number')
    if (!value.every(isEntry)) return undefined
    return new UnigramVocabulary(value, where)
  }

  get size(): number {
    return this.entries.length
  }

  pieceOf(id: number): string | undefined {
    return this.entries[id]?.[0]
  }

  /** The ids of `text`'s best segmentation. */
  encode(text: string): number[] {
    const normalized = text.normalize('NFKC')
    const input = normalized.length > 0 ? pieceSeparator + normalized.replaceAll(' ', pieceSeparator) : ''
    const n = input.length
    // best[end]: score of the best segmentation of input[0, end); 0 also means "not reached yet".
    const best = new Float64Array(n + 1)
    const words = new Int32Array(n + 1)
    const startsPiece = new Uint8Array(n)
    for (let start = 0; start < n; start++) {
      for (let length = 1; length <= this.longest && start + length <= n; length++) {
        if (this.pieces.has(input.slice(start, start + length))) {
          startsPiece[start] = 1
          break
        }
      }
    }
    for (let end = 1; end <= n; end++) {
      for (let start = Math.max(0, end - this.longest); start < end; start++) {
        let piece = this.pieces.get(input.slice(start, end))
        if (!piece && end - start === 1 && !startsPiece[start]) piece = { id: unknownId, score: 0 }
        if (!piece) continue
        const score = piece.score + best[start]!
        if (best[end] === 0 || score >= best[end]!) {
          best[end] = score
          words[end] = piece.id
        }
      }
    }
    const reversed: number[] = []
    for (let at = n; at > 0; ) {
      const id = words[at]!
      reversed.push(id)
      at -= this.entries[id]![0].length
    }
    const ids: number[] = []
    for (let i = reversed.length - 1; i >= 0; i--) {
      const id = reversed[i]!
      if (id === unknownId && ids.at(-1) === unknownId) continue
      ids.push(id)
    }
    return ids
  }

  /** Text back from ids: pieces joined, ▁ read as a space, the leading one dropped. */
  decode(ids: readonly number[]): string {
    return ids
      .map((id) => this.pieceOf(id) ?? '')
      .join('')
      .replaceAll(pieceSeparator, ' ')
      .replace(/^ /, '')
  }
}
