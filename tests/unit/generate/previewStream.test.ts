import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StreamEvents } from '../../../src/shared/api'
import { SivaBackend } from '../../../src/main/services/backend'
import { hfFixture, hfReference } from '../../helpers/hfref'
import { repoRoot, tempDir } from '../../helpers/paths'

// The app's generatePreview stream through the real back end (SivaBackend: schema check, dispatch, the SVD
// pool) on a SiVA run of hfref's qwen2-lm trained here with `siva train`: the base continuation against the
// real transformers 4.44 on the base checkpoint, the adapted one against transformers on the run exported
// with `siva export --merged` (tests/reference/hf_generate.py); the text streamed as it grows; closing the
// stream (the Cancel button) stops it with no result.

type Event = StreamEvents['generatePreview']

const prompt = 'Hello world, this is'
const root = tempDir('preview-stream')
const runsDir = join(root, 'runs')
const svdCacheDir = join(root, 'svd')
const runId = 'lm-run'
let backend: SivaBackend
let merged: string

function siva(args: string[]): void {
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 180_000 })
  expect(run.status, run.stderr).toBe(0)
}

beforeAll(() => {
  const data = join(root, 'data.jsonl')
  writeFileSync(data, Array.from({ length: 24 }, () => JSON.stringify({ prompt, completion: ' the end of the story.' })).join('\n') + '\n')
  const runDir = join(runsDir, runId)
  siva(['train', '--model', hfFixture('qwen2-lm'), '--data', data, '--task', 'causal-lm', '--out', runDir, '--max-steps', '8', '--batch-size', '8', '--lr', '0.5', '--perc', '0.5', '--seed', '2', '--backend', 'wasm', '--svd-cache', svdCacheDir, '--quiet'])
  merged = join(root, 'merged')
  siva(['export', runDir, '--checkpoint', 'last', '--merged', merged, '--svd-cache', svdCacheDir, '--quiet'])
  backend = new SivaBackend({ runsDir, svdCacheDir })
}, 300_000)

afterAll(async () => {
  await backend?.close()
})

async function collect(params: unknown, stopAfter?: (events: Event[]) => boolean): Promise<Event[]> {
  const events: Event[] = []
  const controller = new AbortController()
  await backend.stream(
    'generatePreview',
    params,
    (event) => {
      events.push(event as Event)
      if (stopAfter?.(events)) controller.abort()
    },
    controller.signal
  )
  return events
}

describe('the generatePreview stream', () => {
  it('streams the base then the adapted continuation; each is transformers’ greedy one', async () => {
    const events = await collect({ runId, checkpoint: 'last', prompt, maxNewTokens: 10 })
    expect(events.filter((e) => e.type === 'stage').map((e) => e.type === 'stage' && e.stage)).toEqual(['base', 'restore', 'adapted'])
    const result = events.at(-1)!
    if (result.type !== 'result') throw new Error(`the stream ended with ${result.type}`)
    const { preview } = result
    // Qwen2 stops on <|endoftext|> (1062) and on its chat end-of-turn <|im_end|>, whose id transformers' tokenizer gives.
    const imEnd = hfReference<{ results: { prompt_ids: number[] }[] }>('hf_generate.py', [], { jobs: [{ model: hfFixture('qwen2-lm'), prompt: '<|im_end|>', max_new_tokens: 1, eos_token_id: null }] }).results[0]!.prompt_ids
    expect(imEnd).toHaveLength(1)
    const stopIds = [1062, imEnd[0]!]
    const jobs = [hfFixture('qwen2-lm'), merged].map((model) => ({ model, prompt, max_new_tokens: 10, eos_token_id: stopIds }))
    const [base, adapted] = hfReference<{ results: { prompt_ids: number[]; ids: number[]; text: string }[] }>('hf_generate.py', [], { jobs }).results
    expect(preview.promptTokens).toBe(base!.prompt_ids.length)
    expect(preview.base).toMatchObject({ text: base!.text, tokens: base!.ids.length })
    expect(preview.adapted).toMatchObject({ text: adapted!.text, tokens: adapted!.ids.length, checkpoint: { step: 8 } })
    expect(preview.adapted!.text).not.toBe(preview.base.text)
    // The text as it grew: one event per token, the last equal to the result.
    for (const side of ['base', 'adapted'] as const) {
      const texts = events.filter((e): e is Extract<Event, { type: 'text' }> => e.type === 'text' && e.side === side)
      expect(texts.map((e) => e.tokens)).toEqual(Array.from({ length: preview[side]!.tokens }, (_, i) => i + 1))
      expect(texts.at(-1)!.text).toBe(preview[side]!.text)
    }
  }, 120_000)

  it('stops when the stream is closed, with no result', async () => {
    const events = await collect({ runId, prompt, maxNewTokens: 50 }, (seen) => seen.filter((e) => e.type === 'text').length === 2)
    expect(events.filter((e) => e.type === 'text')).toHaveLength(2)
    expect(events.some((e) => e.type === 'result' || (e.type === 'stage' && e.stage !== 'base'))).toBe(false)
  }, 60_000)

  it('refuses requests outside the schema’s bounds and runs that do not exist, naming the field', async () => {
    await expect(collect({ runId, prompt: 'x'.repeat(4001), maxNewTokens: 4 })).rejects.toThrow(/generatePreview: prompt: /)
    await expect(collect({ runId, prompt, maxNewTokens: 257 })).rejects.toThrow(/generatePreview: maxNewTokens: /)
    await expect(collect({ runId, prompt, maxNewTokens: 4, model: '/elsewhere' })).rejects.toThrow(/generatePreview: .*model/)
    await expect(collect({ runId: 'no-such-run', prompt, maxNewTokens: 4 })).rejects.toThrow(/no-such-run: no such run in /)
  })
})
