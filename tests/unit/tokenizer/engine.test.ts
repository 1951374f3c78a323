import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { TextTokenizer } from '../../../src/main/engine/data/tokenizer'
import { gpt2TokenizerWith, gpt3Encoder } from '../../helpers/gpt2Tokenizer'
import { hfFixture } from '../../helpers/hfref'
import { repoRoot, tempDir } from '../../helpers/paths'
import { realSentences } from '../../helpers/text'

// Which engine a tokenizer runs, why, and that the native one changes nothing a caller can see. The ids of
// both engines against the references are in the other tokenizer suites (engines.ts).

type Json = Record<string, unknown>

/** Runs a few lines of TypeScript in a fresh Node process (its own environment), printing JSON. */
function inChild(code: string, env: NodeJS.ProcessEnv): unknown {
  const script = join(tempDir('engine-child'), 'child.mts')
  writeFileSync(script, code)
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin/run-ts.mjs'), script], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 })
  if (run.status !== 0) throw new Error(`child failed (${run.status}): ${run.stderr}`)
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!)
}

describe('choosing the engine', () => {
  let gpt2: string
  beforeAll(() => {
    gpt2 = gpt2TokenizerWith('engine-gpt2')
  })

  it('auto picks the native engine for a tokenizer.json it runs; js can be asked for, by option or SIVA_TOKENIZER', async () => {
    const auto = await TextTokenizer.load(gpt2)
    expect([auto.engine, auto.fallbackReason]).toEqual(['native', undefined])
    const js = await TextTokenizer.load(gpt2, { engine: 'js' })
    expect([js.engine, js.fallbackReason]).toEqual(['js', 'the JS engine was asked for'])
    const tokenizerModule = join(repoRoot, 'src/main/engine/data/tokenizer.ts')
    const child = (value: string): unknown =>
      inChild(`import { TextTokenizer } from ${JSON.stringify(tokenizerModule)}\nconst t = await TextTokenizer.load(${JSON.stringify(gpt2)})\nconsole.log(JSON.stringify([t.engine, t.fallbackReason ?? null]))\n`, { SIVA_TOKENIZER: value })
    expect(child('js')).toEqual(['js', 'SIVA_TOKENIZER=js asks for the JS engine'])
    expect(child('native')).toEqual(['native', null])
    expect(child('rust')).toEqual(['native', null])
  })

  it('an addon that cannot load (here: napi pointed at a binary that is not there) falls back to JS, and encoding goes on', () => {
    const tokenizerModule = join(repoRoot, 'src/main/engine/data/tokenizer.ts')
    const texts = realSentences(50)
    const code = `import { TextTokenizer } from ${JSON.stringify(tokenizerModule)}
const t = await TextTokenizer.load(${JSON.stringify(gpt2)})
const many = await t.encodeMany(${JSON.stringify(texts)}.map((text) => ({ text, addSpecialTokens: false })))
let forced = ''
await TextTokenizer.load(${JSON.stringify(gpt2)}, { engine: 'native' }).catch((e) => (forced = e.message))
console.log(JSON.stringify({ engine: t.engine, reason: t.fallbackReason, ids: many.map((e) => e.ids), forced }))
`
    const out = inChild(code, { NAPI_RS_NATIVE_LIBRARY_PATH: join(repoRoot, 'no-such-tokenizers.node') }) as { engine: string; reason: string; ids: number[][]; forced: string }
    expect(out.engine).toBe('js')
    expect(out.reason).toMatch(/^the native tokenizers addon did not load on \w+-\w+ \(Node [\d.]+\): /)
    expect(out.ids).toEqual(texts.map((text) => gpt3Encoder.encode(text)))
    expect(out.forced).toMatch(/tokenizer\.json: the native tokenizer engine was asked for, but the native tokenizers addon did not load/)
  })

  it("split_special_tokens with a non-special added token overlapping a special one stays on JS, saying which; without it, native", async () => {
    const dir = gpt2TokenizerWith('engine-overlap', (json) => {
      ;(json['added_tokens'] as Json[]).push({ id: 50257, content: 'endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false })
    })
    const split = await TextTokenizer.load(dir, { splitSpecialTokens: true })
    expect([split.engine, split.fallbackReason]).toEqual(['js', 'split_special_tokens with overlapping added tokens: "endoftext|>" lies inside the special token "<|endoftext|>"'])
    expect((await TextTokenizer.load(dir)).engine).toBe('native')
    // Without the overlap, split_special_tokens runs natively, and "<|endoftext|>" is text on both engines.
    const plain = await TextTokenizer.load(gpt2, { splitSpecialTokens: true })
    expect(plain.engine).toBe('native')
    const text = 'a<|endoftext|>b'
    expect((await plain.encodeMany([{ text }]))[0]!.ids).toEqual(gpt3Encoder.encode(text))
  })
})

describe('what the native engine must not change', () => {
  it("a tokenizer.json's own truncation and padding are not applied (TextTokenizer's options decide)", async () => {
    const dir = gpt2TokenizerWith('engine-truncation', (json) => {
      json['truncation'] = { direction: 'Right', max_length: 4, strategy: 'LongestFirst', stride: 0 }
      json['padding'] = { strategy: { Fixed: 64 }, direction: 'Right', pad_to_multiple_of: null, pad_id: 50256, pad_type_id: 0, pad_token: '<|endoftext|>' }
    })
    const tokenizer = await TextTokenizer.load(dir)
    expect(tokenizer.engine).toBe('native')
    const texts = realSentences(30)
    const encoded = await tokenizer.encodeMany(texts.map((text) => ({ text })))
    expect(encoded.map((e) => e.ids)).toEqual(texts.map((text) => gpt3Encoder.encode(text)))
    const cut = await tokenizer.encodeMany(texts.map((text) => ({ text, maxLength: 8, padToMaxLength: true })))
    expect(cut).toEqual(texts.map((text) => tokenizer.encode(text, { maxLength: 8, padToMaxLength: true })))
  })

  it('BERT: a text with an unassigned code point goes to the JS core (tokenizers 0.23 keeps them, transformers drops them)', async () => {
    const bert = await TextTokenizer.load(hfFixture('bert-cls'))
    expect(bert.engine).toBe('native')
    const texts = ['unassigned\u0378 here', 'plain text', '\u0378', 'mixed \u0378 and 北京']
    expect(await bert.encodeMany(texts.map((text) => ({ text })))).toEqual(texts.map((text) => bert.encode(text)))
  })

  it('a text an engine cannot tokenise rejects naming its index', async () => {
    const folder = tempDir('engine-deberta-no-unk')
    for (const name of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
      try {
        writeFileSync(join(folder, name), readFileSync(join(hfFixture('deberta-v2-cls'), name)))
      } catch {
        // special_tokens_map.json is optional
      }
    }
    const file = join(folder, 'tokenizer.json')
    const json = JSON.parse(readFileSync(file, 'utf8')) as { model: Json }
    json.model['unk_id'] = null
    writeFileSync(file, JSON.stringify(json))
    // Both engines refuse such a text, so the file runs natively (the load-time probe sees no difference).
    for (const engine of ['js', 'native'] as const) {
      const tokenizer = await TextTokenizer.load(folder, { engine })
      const error = await tokenizer.encodeMany([{ text: 'the' }, { text: 'the \u{10fffd}' }, { text: 'the' }]).then(() => undefined, (e: unknown) => e as Error & { index: number })
      expect(error?.index, engine).toBe(1)
      expect(error?.message, engine).toMatch(/^text 1: /)
    }
    expect((await TextTokenizer.load(folder)).engine).toBe('native')
  })
})
