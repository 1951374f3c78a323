import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { TextTokenizer, TokenizerLoadError } from '../../../src/main/engine/data/tokenizer'
import { PrecompiledCharsmap } from '../../../src/main/engine/data/precompiledCharsmap'
import { hfFixture, hfReference } from '../../helpers/hfref'
import { tempDir } from '../../helpers/paths'
import { encodeOn, engines, loadOn } from './engines'

/**
 * DeBERTa-v3's SentencePiece (Unigram) tokenizer.json, as hfref's deberta-v2-cls fixture has it (Strip,
 * Precompiled charsmap of nmt_nfkc, Replace, Metaspace, Unigram, [CLS] A [SEP] B [SEP]). Its ids against
 * transformers are checked in transformers.test.ts; here the charsmap normaliser on its own, code point by
 * code point against tokjson.py's reading (tokenizers 0.19's spm_precompiled, ported), and what a damaged or
 * unsupported file gets.
 */

type Json = Record<string, unknown>

function precompiledSpec(json: Json): Json {
  const normalizer = json['normalizer'] as Json
  return (normalizer['normalizers'] as Json[]).find((n) => n['type'] === 'Precompiled')!
}

/** Astral blocks with compatibility mappings (mathematical letters, enclosed forms, CJK compatibility, tags). */
const astralBlocks: [number, number][] = [
  [0x1d400, 0x1d7ff],
  [0x1ee00, 0x1eeff],
  [0x1f100, 0x1f2ff],
  [0x1fbf0, 0x1fbff],
  [0x2f800, 0x2fa1f],
  [0xe0000, 0xe0fff]
]

/** Every code point of the Basic Multilingual Plane but the surrogates, the astral blocks above, and one in 97 of the rest. */
function codePoints(): string[] {
  const out: string[] = []
  for (let code = 0; code <= 0x10ffff; code++) {
    if (code >= 0xd800 && code <= 0xdfff) continue
    if (code > 0xffff && code % 97 !== 0 && !astralBlocks.some(([low, high]) => code >= low && code <= high)) continue
    out.push(String.fromCodePoint(code))
  }
  return out
}

const marks = ['\u0301', '\u0308', '\u0327', '\u3099', '\uff9e', '\u200d', '\ufe0f']
const bases = ['e', 'A', 'Ａ', 'ﬁ', 'ｶ', 'か', '①', '\u00a0', '\u200b', 'ㄱ', '\u1100', 'Ⅻ', '😀', '👨']
const graphemeTexts = [
  ...bases.flatMap((base) => marks.map((mark) => base + mark)),
  ...bases.flatMap((base) => marks.map((mark) => `${base}${mark}${mark}`)),
  '\r\n',
  '\r\n\r\n',
  'x\r\ny',
  '\u1100\u1161\u11a8',
  '👨‍👩‍👧‍👦 🏳️‍🌈 🇫🇷🇯🇵 👍🏽',
  'ＦＵＬＬ ｈａｌｆ ﾊﾝｶｸ ｶﾞｷﾞ ㍿ ～ ～tilde',
  'Cafe\u0301 Tie\u0302\u0301ng',
  'क्षत्रिय हिन्दी ภาษาไทย'
]

describe('the precompiled charsmap (nmt_nfkc) as tokenizers 0.19 applies it', () => {
  let charsmap: PrecompiledCharsmap
  const chars = codePoints()
  let reference: { precompiled: string[] }[]
  beforeAll(() => {
    const folder = hfFixture('deberta-v2-cls')
    const json = JSON.parse(readFileSync(join(folder, 'tokenizer.json'), 'utf8')) as Json
    charsmap = PrecompiledCharsmap.fromBase64(precompiledSpec(json)['precompiled_charsmap'] as string)
    reference = hfReference<{ precompiled: string[] }[]>('hf_tokenize.py', [], [
      { folder, precompiled: chars },
      { folder, precompiled: graphemeTexts }
    ])
  })

  it('maps each code point exactly as tokjson.py does', () => {
    const { precompiled } = reference[0]!
    expect(precompiled).toHaveLength(chars.length)
    const wrong = chars.filter((ch, i) => charsmap.normalize(ch) !== precompiled[i])
    expect(wrong.map((ch) => ch.codePointAt(0)!.toString(16))).toEqual([])
    // Not vacuous: thousands of characters do change (full-width forms, ligatures, compatibility ideographs, controls).
    expect(chars.filter((ch, i) => precompiled[i] !== ch).length).toBeGreaterThan(3000)
  })

  it('graphemes: a grapheme under 6 bytes is looked up whole, its shortest known prefix standing for all of it', () => {
    const { precompiled } = reference[1]!
    graphemeTexts.forEach((text, i) => expect(charsmap.normalize(text), JSON.stringify(text)).toBe(precompiled[i]))
    // The rule's oddity, kept: a full-width A with an acute is one grapheme whose prefix Ａ maps to A, so the accent goes.
    expect(charsmap.normalize('Ａ\u0301')).toBe('A')
  })

  it('a charsmap that is not that format is refused', () => {
    expect(() => PrecompiledCharsmap.fromBase64('not base64!')).toThrow(/not base64/)
    expect(() => PrecompiledCharsmap.fromBase64(Buffer.from([8, 0, 0, 0, 1, 2]).toString('base64'))).toThrow(/the trie is said to take 8 bytes, of 2 there are/)
    expect(() => PrecompiledCharsmap.fromBase64(Buffer.from([4, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe]).toString('base64'))).toThrow(/not valid UTF-8/)
  })
})

describe('a Unigram tokenizer.json that this app cannot run is refused at load, naming the field', () => {
  function debertaWith(name: string, change: (json: Json) => void): string {
    const dir = tempDir(name)
    cpSync(hfFixture('deberta-v2-cls'), dir, { recursive: true })
    const file = join(dir, 'tokenizer.json')
    const json = JSON.parse(readFileSync(file, 'utf8')) as Json
    change(json)
    writeFileSync(file, JSON.stringify(json))
    return dir
  }

  it('a damaged charsmap', async () => {
    const dir = debertaWith('deberta-bad-charsmap', (json) => {
      precompiledSpec(json)['precompiled_charsmap'] = Buffer.from([200, 0, 0, 0, 1, 2, 3, 4]).toString('base64')
    })
    const error = await TextTokenizer.load(dir).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TokenizerLoadError)
    expect((error as Error).message).toBe(`${join(dir, 'tokenizer.json')}: normalizer.normalizers[1].precompiled_charsmap: the trie is said to take 200 bytes, of 4 there are`)
  })

  it('byte fallback, a normaliser or a pre-tokeniser it does not run', async () => {
    const fallback = debertaWith('deberta-byte-fallback', (json) => {
      ;(json['model'] as Json)['byte_fallback'] = true
    })
    await expect(TextTokenizer.load(fallback)).rejects.toThrow(`${join(fallback, 'tokenizer.json')}: model.byte_fallback: a Unigram model with byte fallback is not run by this app`)
    const normalizer = debertaWith('deberta-bert-normalizer', (json) => {
      ;((json['normalizer'] as Json)['normalizers'] as Json[]).push({ type: 'BertNormalizer' })
    })
    await expect(TextTokenizer.load(normalizer)).rejects.toThrow(`${join(normalizer, 'tokenizer.json')}: normalizer.normalizers[3].type: "BertNormalizer" is not a normaliser this app runs for Unigram models`)
    const preTokenizer = debertaWith('deberta-byte-level', (json) => {
      json['pre_tokenizer'] = { type: 'Sequence', pretokenizers: [{ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true }, { type: 'ByteLevel' }] }
    })
    await expect(TextTokenizer.load(preTokenizer)).rejects.toThrow(`${join(preTokenizer, 'tokenizer.json')}: pre_tokenizer.pretokenizers[1].type: "ByteLevel" is not a pre-tokeniser this app runs for Unigram models`)
  })

  it('a Replace pattern that backtracks exponentially runs bounded; a backreference is refused', async () => {
    const exponential = debertaWith('deberta-replace-exponential', (json) => {
      ;((json['normalizer'] as Json)['normalizers'] as Json[])[2] = { type: 'Replace', pattern: { Regex: '(a|a)+$' }, content: 'b' }
    })
    const tokenizer = await TextTokenizer.load(exponential)
    // The native engine would run it with a backtracking matcher: it stays on the JS engine, which bounds it.
    expect([tokenizer.engine, tokenizer.fallbackReason]).toEqual(['js', "tokenizer.json's normalizer.normalizers[2].pattern.Regex is not a pattern the native engine is known to match in bounded time (the JS engine bounds every pattern)"])
    const started = performance.now()
    tokenizer.encode(`${'a'.repeat(5000)}!`)
    expect(performance.now() - started).toBeLessThan(5000)
    const backreference = debertaWith('deberta-replace-backreference', (json) => {
      ;((json['normalizer'] as Json)['normalizers'] as Json[])[2] = { type: 'Replace', pattern: { Regex: '(a+)\\1' }, content: 'b' }
    })
    await expect(TextTokenizer.load(backreference)).rejects.toThrow(/tokenizer\.json: normalizer\.normalizers\[2\]\.pattern\.Regex: the pattern \/\(a\+\)\\1\/ cannot be matched in bounded time/)
  })
})

describe.each(engines)('DeBERTa-v3 tokenizer, %s engine: special tokens, decoding', (engine) => {
  it("reads [PAD] [CLS] [SEP] [UNK] [MASK] with the ids tokenizer_config.json gives them, and decodes back", async () => {
    const folder = hfFixture('deberta-v2-cls')
    const tokenizer = await loadOn(engine, folder)
    const config = JSON.parse(readFileSync(join(folder, 'tokenizer_config.json'), 'utf8')) as { added_tokens_decoder: Record<string, { content: string }> }
    const idOf = (content: string): number => Number(Object.entries(config.added_tokens_decoder).find(([, t]) => t.content === content)![0])
    expect([tokenizer.padId, tokenizer.clsId, tokenizer.sepId, tokenizer.unkId, tokenizer.maskId]).toEqual(['[PAD]', '[CLS]', '[SEP]', '[UNK]', '[MASK]'].map(idOf))
    expect(tokenizer.vocabularySize).toBe(idOf('[MASK]') + 1)
    const text = 'the team won the match in the last minute'
    const ids = (await encodeOn(tokenizer, text)).ids
    expect(tokenizer.decode(ids)).toBe(text)
    expect(tokenizer.decode(ids, false)).toBe(`[CLS] ${text}[SEP]`)
  })
})
