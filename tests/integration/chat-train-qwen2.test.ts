import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { exportRun } from '../../src/main/engine/export/exportRun'
import { defaultTrainConfig, trainRun } from '../../src/main/engine/training/loop'
import type { TrainEvent } from '../../src/shared/training'
import { chatmlTemplate, withChatTemplate } from '../helpers/chatTemplates'
import { inProcessDecompose as decompose } from '../helpers/decompose'
import { hfReference } from '../helpers/hfref'
import { tempDir } from '../helpers/paths'

// Issue 19's "a chat-format run trains on a tiny transformers-made Qwen2": hfref's qwen2-lm (written by the
// real Qwen2ForCausalLM.save_pretrained) with a ChatML template, a JSONL of `messages`, SiVA for a few steps
// with the same file as validation, the merged export; then the real transformers recomputes that
// validation loss on the export from its own rendering, tokenisation and assistant-only mask
// (tests/reference/hf_chat_eval.py) — so the run rendered, masked and trained what transformers would.

const conversations = [
  [{ role: 'user', content: 'What is the capital of France?' }, { role: 'assistant', content: 'Paris.' }],
  [{ role: 'system', content: 'Answer in one word.' }, { role: 'user', content: 'Colour of the sky?' }, { role: 'assistant', content: 'Blue' }],
  [
    { role: 'user', content: 'Hi there' },
    { role: 'assistant', content: 'Hello! How can I help?' },
    { role: 'user', content: 'Count to three.' },
    { role: 'assistant', content: 'One, two, three.' }
  ],
  [{ role: 'user', content: 'Name a fruit.' }, { role: 'assistant', content: 'An apple.' }],
  [{ role: 'user', content: 'Two plus two?' }, { role: 'assistant', content: 'Four.' }],
  [{ role: 'user', content: 'Say hello.' }, { role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'Thanks' }],
  [{ role: 'user', content: 'Opposite of hot?' }, { role: 'assistant', content: 'Cold.' }],
  [{ role: 'user', content: 'A colour of grass?' }, { role: 'assistant', content: 'Green.' }]
]

let model: string
let data: string
let runDir: string
let merged: string
let events: TrainEvent[]

beforeAll(async () => {
  const dir = tempDir('chat-qwen2')
  model = withChatTemplate('qwen2-lm', dir, 'qwen2-chat', chatmlTemplate)
  data = join(dir, 'chat.jsonl')
  writeFileSync(data, conversations.map((messages) => JSON.stringify({ messages })).join('\n') + '\n')
  runDir = join(dir, 'run')
  const config = defaultTrainConfig({ model, data, validation: data, task: 'causal-lm', method: 'siva', maxSteps: 6, batchSize: 4, lr: 0.05, seed: 3, backend: 'wasm', maxLength: 128 })
  events = []
  for await (const event of trainRun(config, runDir, { decompose })) {
    if (event.type === 'error') throw new Error(`training failed: ${event.message}`)
    events.push(event)
  }
  merged = join(dir, 'merged')
  await exportRun({ runDir, outputs: { merged }, checkpoint: 'last' }, { decompose })
}, 300_000)

describe('a chat-format run on a transformers-made Qwen2', () => {
  it('trains on the assistant turns: the loss falls, and the stored labels are the assistant tokens only', () => {
    const steps = events.filter((e): e is Extract<TrainEvent, { type: 'step' }> => e.type === 'step')
    expect(steps).toHaveLength(6)
    expect(steps.at(-1)!.loss).toBeLessThan(steps[0]!.loss)
    const meta = JSON.parse(readFileSync(join(runDir, 'data', 'train.json'), 'utf8')) as Record<string, unknown>
    expect([meta['version'], meta['lossMask'], meta['examples']]).toEqual([2, true, conversations.length])
    // One byte per id: 1 on the assistant tokens.
    const mask = readFileSync(join(runDir, 'data', 'train.mask'))
    expect(mask.length).toBe(meta['tokens'])
    const taught = mask.reduce((a, b) => a + b, 0)
    expect(taught).toBeGreaterThan(0)
    expect(taught).toBeLessThan(mask.length / 2)
  })

  it("its validation loss equals transformers' on the merged export, from transformers' own rendering and assistant mask", () => {
    const evaluations = events.filter((e): e is Extract<TrainEvent, { type: 'eval' }> => e.type === 'eval')
    const loss = evaluations.at(-1)!.metrics['loss']!
    const reference = hfReference<{ token_mean: number; row_mean: number; mask: number[][] }>('hf_chat_eval.py', [], { checkpoint: model, model: merged, conversations })
    // Only the assistant turns (with their <|im_end|>) count: most of each rendering is system, user and headers.
    const masked = reference.mask.flat().reduce((a, b) => a + b, 0)
    expect(masked).toBeGreaterThan(0)
    expect(masked).toBeLessThan(reference.mask.flat().length / 2)
    const error = Math.min(Math.abs(loss - reference.token_mean), Math.abs(loss - reference.row_mean)) / reference.token_mean
    expect(error, `project ${loss}, transformers token mean ${reference.token_mean}, row mean ${reference.row_mean}`).toBeLessThan(1e-4)
  })
})
