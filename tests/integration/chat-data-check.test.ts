import { spawnSync } from 'node:child_process'
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { checkData, type DataCheckChatTokens, type DataCheckPreviewRow } from '../../src/main/services/dataCheck'
import { hfFixture, hfReference } from '../helpers/hfref'
import { writeParquet } from '../helpers/parquetFixtures'
import { repoRoot, tempDir } from '../helpers/paths'

// `siva data check` on chat data end to end: the CLI as users run it, on Qwen2's tokenizer (hfref's qwen2-lm)
// with a ChatML template written into a copy's tokenizer_config.json; renderings and masks against the real
// transformers (tests/reference/hf_chat.py).

function siva(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'data', 'check', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

const chatml =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

const conversations = [
  [
    { role: 'user', content: 'What is the capital of France?' },
    { role: 'assistant', content: 'Paris.' }
  ],
  [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: 'Bye' },
    { role: 'assistant', content: 'Goodbye.' }
  ]
]

let dir: string
let model: string
let data: string
let references: { text: string; ids: number[]; mask: number[] }[]

beforeAll(() => {
  dir = tempDir('chat-data-check')
  model = join(dir, 'qwen2-chat')
  cpSync(hfFixture('qwen2-lm'), model, { recursive: true })
  const configFile = join(model, 'tokenizer_config.json')
  writeFileSync(configFile, JSON.stringify({ ...(JSON.parse(readFileSync(configFile, 'utf8')) as object), chat_template: chatml }))
  data = join(dir, 'chat.jsonl')
  writeFileSync(data, [...conversations.map((messages) => ({ prompt_id: 'p', messages })), { messages: [{ role: 'user', content: 'no answer' }] }].map((row) => JSON.stringify(row)).join('\n') + '\n')
  references = hfReference('hf_chat.py', [], { cases: conversations.map((messages) => ({ checkpoint: model, messages })) })
}, 120_000)

describe('siva data check on chat data', () => {
  it('--json: the rendered preview with its assistant spans, token counts and row-numbered problems', () => {
    const run = siva('--data', data, '--task', 'causal-lm', '--model', model, '--json', '--quiet')
    expect(run.status, run.stderr).toBe(1)
    const report = JSON.parse(run.stdout) as {
      usable: boolean
      rows: number
      summary: { columns: Record<string, string>; tokens: { kept: number; trained: number; untrainedRows: number; histogram: { count: number }[] } }
      preview: { row: number; text: string; messages: number; assistantSpans: [number, number][]; tokens: number; trainedTokens: number; ids: number[] }[]
      problems: { code: string; severity: string; row?: number; field?: string; message: string }[]
    }
    expect(report.rows).toBe(2)
    expect(report.summary.columns).toEqual({ messages: 'messages' })
    expect(report.problems.filter((p) => p.severity === 'error').map((p) => [p.code, p.row, p.field])).toEqual([['chat-no-assistant', 3, 'messages']])
    expect(report.preview.map((r) => r.text)).toEqual(references.map((r) => r.text))
    expect(report.preview.map((r) => r.tokens)).toEqual(references.map((r) => r.ids.length))
    expect(report.preview.map((r) => r.ids)).toEqual(references.map((r) => r.ids.slice(0, 16)))
    const trained = references.map((r) => r.mask.reduce((a, b) => a + b, 0))
    expect(report.preview.map((r) => r.trainedTokens)).toEqual(trained)
    expect(report.preview.map((r) => r.assistantSpans.map(([start, end]) => r.text.slice(start, end)))).toEqual([['Paris.<|im_end|>'], ['Hello!<|im_end|>', 'Goodbye.<|im_end|>']])
    expect(report.summary.tokens).toMatchObject({ kept: references.reduce((sum, r) => sum + r.ids.length, 0), trained: trained[0]! + trained[1]!, untrainedRows: 0 })
  })

  it('text: the conversation rendered line by line with the taught part marked, and the counts', () => {
    const run = siva('--data', data, '--task', 'causal-lm', '--model', model, '--quiet')
    expect(run.status).toBe(1)
    const kept = references.reduce((sum, r) => sum + r.ids.length, 0)
    const trained = references.reduce((sum, r) => sum + r.mask.reduce((a, b) => a + b, 0), 0)
    expect(run.stdout).toContain('columns: conversation = messages')
    expect(run.stdout).toContain(`tokens trained on: ${kept} tokens within the limit, ${trained} of them with loss (the assistant turns, ${((100 * trained) / kept).toFixed(1)}%)`)
    expect(run.stdout).toContain('chat.jsonl, row 3: "messages" has no assistant message')
    expect(run.stdout).toContain(
      [
        `  row 1: 2 messages, ${references[0]!.ids.length} tokens, ${references[0]!.mask.reduce((a, b) => a + b, 0)} with loss`,
        '    │<|im_start|>user',
        '    │What is the capital of France?<|im_end|>',
        '    │<|im_start|>assistant',
        '    │⟦Paris.<|im_end|>⟧',
        '  row 2:'
      ].join('\n')
    )
    expect(run.stdout).toContain('usable: no')
  })

  it('a checkpoint without a chat template: one error naming its tokenizer_config.json', () => {
    const run = siva('--data', data, '--task', 'causal-lm', '--model', hfFixture('qwen2-lm'), '--json', '--quiet')
    expect(run.status).toBe(1)
    const report = JSON.parse(run.stdout) as { problems: { code: string; message: string }[] }
    const missing = report.problems.filter((p) => p.code === 'chat-template-missing')
    expect(missing).toHaveLength(1)
    expect(missing[0]!.message).toMatch(/chat\.jsonl holds conversations, but .*tokenizer_config\.json: the checkpoint has no "chat_template"/)
  })

  it('Parquet with a messages column; the Data step gets the rendering, spans and counts too', async () => {
    const parquet = writeParquet(join(dir, 'chat.parquet'), { messages: { type: 'messages', values: conversations } })
    const run = siva('--data', parquet, '--task', 'causal-lm', '--model', model, '--json', '--quiet')
    expect(run.status, run.stdout).toBe(0)
    const report = JSON.parse(run.stdout) as { preview: { text: string; assistantSpans: [number, number][] }[] }
    expect(report.preview.map((r) => r.text)).toEqual(references.map((r) => r.text))

    const result = await checkData({ path: parquet, task: 'causal-lm', model })
    expect(result.usable).toBe(true)
    expect(result.columns.used).toEqual({ messages: 'messages' })
    const rows = result.preview as DataCheckPreviewRow[]
    expect(rows.map((r) => r.text)).toEqual(references.map((r) => r.text))
    expect(rows.map((r) => r.assistantSpans)).toEqual(report.preview.map((r) => r.assistantSpans))
    expect(rows.map((r) => r.trainedTokens)).toEqual(references.map((r) => r.mask.reduce((a, b) => a + b, 0)))
    expect((result.tokens as DataCheckChatTokens).trained).toBe(references.reduce((sum, r) => sum + r.mask.reduce((a, b) => a + b, 0), 0))
  }, 120_000)
})
