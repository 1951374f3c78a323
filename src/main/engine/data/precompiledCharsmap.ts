/**
 * SentencePiece's normalisation rules (nmt_nfkc and its kin) as a tokenizer.json `Precompiled` normaliser
 * carries them: `precompiled_charsmap`, base64 of
 *   [u32 little-endian: byte size of the trie] [the trie: a darts-clone double array of u32 units]
 *   [the replacements: UTF-8 strings, each ended by a NUL byte]
 * The trie maps a UTF-8 byte string to the offset of its replacement in the last part.
 *
 * Applied the way Hugging Face tokenizers 0.19 applies it (and so every fast DeBERTa-v3, XLM-R, T5, ALBERT
 * tokenizer), which is not quite what sentencepiece itself does on spm.model: the text goes grapheme by
 * grapheme; a grapheme under 6 bytes is looked up whole, and if any prefix of it is in the trie, the shortest
 * such prefix's replacement stands for the WHOLE grapheme; otherwise (or for longer graphemes) each character
 * is looked up on its own the same way and kept when it has no entry.
 */

/** A double-array unit: the parts darts-clone packs into 32 bits. */
const hasLeaf = (unit: number): boolean => ((unit >>> 8) & 1) === 1
const leafValue = (unit: number): number => unit & 0x7fffffff
const label = (unit: number): number => (unit & 0x800000ff) >>> 0
const offset = (unit: number): number => (unit >>> 10) << ((unit & (1 << 9)) >>> 6)

const maxCachedGraphemes = 1 << 16
const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** The charsmap cannot be read; the message says what is wrong with it. */
export class CharsmapError extends Error {
  override name = 'CharsmapError'
}

export class PrecompiledCharsmap {
  private readonly replacementCache = new Map<number, string | null>()
  /** Text repeats its graphemes: each is looked up once (the map is emptied when it grows past the limit). */
  private readonly graphemeCache = new Map<string, string>()
  private readonly graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' })

  private constructor(
    private readonly units: Uint32Array,
    private readonly replacements: Uint8Array
  ) {}

  /** Reads the base64 `precompiled_charsmap` field; throws CharsmapError when it is not that format. */
  static fromBase64(encoded: string): PrecompiledCharsmap {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) throw new CharsmapError('not base64')
    const bytes = Buffer.from(encoded, 'base64')
    if (bytes.length < 4) throw new CharsmapError(`${bytes.length} bytes; the trie's size alone takes 4`)
    const trieBytes = bytes.readUInt32LE(0)
    if (trieBytes % 4 !== 0 || trieBytes === 0 || 4 + trieBytes > bytes.length) {
      throw new CharsmapError(`the trie is said to take ${trieBytes} bytes, of ${bytes.length - 4} there are`)
    }
    const units = new Uint32Array(trieBytes / 4)
    for (let i = 0; i < units.length; i++) units[i] = bytes.readUInt32LE(4 + 4 * i)
    const replacements = new Uint8Array(bytes.subarray(4 + trieBytes))
    try {
      strictUtf8.decode(replacements)
    } catch {
      // The Rust library refuses such a file too (PrecompiledError::NormalizedInvalidUtf8).
      throw new CharsmapError('the replacement strings are not valid UTF-8')
    }
    return new PrecompiledCharsmap(units, replacements)
  }

  /** The replacement of the shortest prefix of `bytes` the trie holds, or null when none is in it. */
  private lookUp(bytes: Uint8Array): string | null {
    const units = this.units
    let position = offset(units[0]!)
    for (const byte of bytes) {
      if (byte === 0) break
      position ^= byte
      const unit = units[position]
      // Out of the array means "no such key": a damaged file must not read past it.
      if (unit === undefined || label(unit) !== byte) return null
      position ^= offset(unit)
      if (hasLeaf(unit)) {
        const value = units[position]
        return value === undefined ? null : this.replacementAt(leafValue(value))
      }
    }
    return null
  }

  private replacementAt(start: number): string | null {
    const cached = this.replacementCache.get(start)
    if (cached !== undefined) return cached
    let end = start
    while (end < this.replacements.length && this.replacements[end] !== 0) end++
    let text: string | null = null
    if (start < this.replacements.length) {
      try {
        text = strictUtf8.decode(this.replacements.subarray(start, end))
      } catch {
        text = null // an offset inside a character: no usable replacement
      }
    } else if (start === this.replacements.length) {
      text = ''
    }
    this.replacementCache.set(start, text)
    return text
  }

  normalize(text: string): string {
    let out = ''
    for (const { segment } of this.graphemes.segment(text)) {
      let normalized = this.graphemeCache.get(segment)
      if (normalized === undefined) {
        normalized = this.normalizeGrapheme(segment)
        if (this.graphemeCache.size >= maxCachedGraphemes) this.graphemeCache.clear()
        this.graphemeCache.set(segment, normalized)
      }
      out += normalized
    }
    return out
  }

  private normalizeGrapheme(grapheme: string): string {
    const bytes = utf8.encode(grapheme)
    if (bytes.length < 6) {
      const whole = this.lookUp(bytes)
      if (whole !== null) return whole
    }
    let out = ''
    for (const ch of grapheme) out += this.lookUp(utf8.encode(ch)) ?? ch
    return out
  }
}
