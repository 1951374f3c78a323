/**
 * tokenizer.json's `Unigram` model (SentencePiece's unigram language model: DeBERTa-v3, XLM-R, T5, ALBERT) as
 * Hugging Face tokenizers segments a pre-tokenised word (Unigram::encode_optimized, tokenizers 0.19):
 * - the best-scoring path through the lattice of every vocabulary piece found in the word, summing scores;
 *   at each end the first start (leftmost) reaching the best score keeps it;
 * - a character that starts no single-character piece may be the unknown piece, scored the lowest piece
 *   score minus 10; consecutive unknowns on the best path become one;
 * - the pieces' text is then looked up again, so a spelling listed twice gets its last id, and a fused run
 *   of unknowns that happens to spell a piece gets that piece.
 * Every piece of the vocabulary is matchable, control pieces ([CLS], [SEP]) included, as in the Rust library.
 */

const unknownPenalty = 10

interface TrieNode {
  next: Map<number, TrieNode>
  /** Id of the piece that ends here (the last one listed with this spelling). */
  id?: number
}

export class UnigramModel {
  private readonly root: TrieNode = { next: new Map() }
  private readonly ids = new Map<string, number>()
  private readonly scores: Float64Array
  private readonly unknownScore: number

  constructor(
    readonly pieces: readonly (readonly [string, number])[],
    readonly unknownId: number | null
  ) {
    this.scores = new Float64Array(pieces.length)
    let lowest = Infinity
    pieces.forEach(([piece, score], id) => {
      this.scores[id] = score
      lowest = Math.min(lowest, score)
      this.ids.set(piece, id)
    })
    for (const [piece, id] of this.ids) {
      if (piece.length === 0) continue
      let node = this.root
      for (const ch of piece) {
        const code = ch.codePointAt(0)!
        let child = node.next.get(code)
        if (!child) node.next.set(code, (child = { next: new Map() }))
        node = child
      }
      node.id = id
    }
    this.unknownScore = (pieces.length > 0 ? lowest : 0) - unknownPenalty
  }

  get size(): number {
    return this.pieces.length
  }

  tokenToId(piece: string): number | undefined {
    return this.ids.get(piece)
  }

  /** The ids of one word's best segmentation. */
  encode(word: string): number[] {
    const chars = Array.from(word)
    const n = chars.length
    if (n === 0) return []
    const best = new Float64Array(n + 1)
    const startOf = new Int32Array(n + 1).fill(-1)
    const idOf = new Int32Array(n + 1)
    startOf[0] = 0
    for (let start = 0; start < n; start++) {
      // Every position is reached: each character has at least the unknown piece.
      const here = best[start]!
      let single = false
      let node: TrieNode | undefined = this.root
      for (let end = start + 1; end <= n; end++) {
        node = node.next.get(chars[end - 1]!.codePointAt(0)!)
        if (!node) break
        if (node.id === undefined) continue
        const score = this.scores[node.id]! + here
        if (startOf[end] === -1 || score > best[end]!) {
          best[end] = score
          startOf[end] = start
          idOf[end] = node.id
        }
        if (end === start + 1) single = true
      }
      if (!single) {
        if (this.unknownId === null) throw new Error(`the Unigram model has no unk_id for ${JSON.stringify(chars[start])}, which no piece spells`)
        const score = this.unknownScore + here
        if (startOf[start + 1] === -1 || score > best[start + 1]!) {
          best[start + 1] = score
          startOf[start + 1] = start
          idOf[start + 1] = this.unknownId
        }
      }
    }
    // Back from the end: the pieces' spellings, unknown runs fused.
    const spellings: string[] = []
    let unknownRun: string[] = []
    for (let end = n; end > 0; ) {
      const start = startOf[end]!
      const text = chars.slice(start, end).join('')
      if (idOf[end] === this.unknownId) {
        unknownRun.push(text)
      } else {
        if (unknownRun.length > 0) spellings.push(unknownRun.reverse().join(''))
        unknownRun = []
        spellings.push(text)
      }
      end = start
    }
    if (unknownRun.length > 0) spellings.push(unknownRun.reverse().join(''))
    spellings.reverse()
    return spellings.map((text) => this.ids.get(text) ?? (this.unknownId as number))
  }
}
