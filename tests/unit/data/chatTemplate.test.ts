import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  EncodedDataset,
  encodeExample,
  encodeExamples,
  encodeTextDataset,
  readTextExamples,
  TextTokenizer,
  validateTextDataset,
  type ChatMessage,
  type DataProblem,
  type EncodedExample,
  type TextExample
} from '../../../src/main/engine/data'
import { workerParallelEncoding } from '../../../src/main/workers/encodePool'
import { hfFixture, hfReference } from '../../helpers/hfref'
import { writeParquet } from '../../helpers/parquetFixtures'
import { chatmlTemplate, withChatTemplate } from '../../helpers/chatTemplates'
import { tempDir } from '../../helpers/paths'

/**
 * Chat data (a `messages` column) rendered with the checkpoint's own chat_template, against the real
 * transformers 4.44 (tests/reference/hf_chat.py, jinja2): the rendering byte for byte, the token ids of
 * apply_chat_template(tokenize=True), and the assistant-only loss mask computed there by the same
 * definition from transformers' renderings and tokenizer. The fixtures' tokenizers (Qwen2's and the
 * SmolLM2-style byte-level BPE of llama-lm) ship without a template, so the templates here are written
 * into copies of their tokenizer_config.json.
 */

// Qwen2's ChatML (tests/helpers/chatTemplates.ts), with its default system prompt when the conversation has none.
const chatml = chatmlTemplate

// Llama-3's layout (bos, headers, trimmed content, an end-of-turn token); the header markers are plain text to this tokenizer, the end of turn its eos.
const llama3 =
  "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + eos_token }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"

// Zephyr's, with a raise_exception, given as transformers' list of named templates.
const zephyr =
  "{% if messages[0]['role'] == 'assistant' %}{{ raise_exception('Conversations must start with a user or system message') }}{% endif %}" +
  "{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}{{ '<|system|>\\n' + message['content'] + eos_token }}" +
  "{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\\n' + message['content'] + eos_token }}{% endif %}{% if loop.last and add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}{% endfor %}"

// No separator between the role and the content: one word, whose tokens can cross the turn's start.
const glued = "{% for m in messages %}{{ m['role'] + m['content'] + eos_token }}{% endfor %}{% if add_generation_prompt %}{{ 'assistant' }}{% endif %}"

const conversations: ChatMessage[][] = [
  [
    { role: 'user', content: 'What is the capital of France?' },
    { role: 'assistant', content: 'Paris.' }
  ],
  [
    { role: 'system', content: 'You answer in one word.' },
    { role: 'user', content: 'Colour of the sky?' },
    { role: 'assistant', content: 'Blue' }
  ],
  [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi there' },
    { role: 'assistant', content: 'Hello! How can I help?' },
    { role: 'user', content: 'Count to three.' },
    { role: 'assistant', content: 'One, two, three.' },
    { role: 'user', content: 'And back?' },
    { role: 'assistant', content: 'Three, two, one.' }
  ],
  // Content starting with a newline: in ChatML "\n\n" is one token across the turn's start.
  [
    { role: 'user', content: 'Grüße 👋 — schreib zwei Zeilen' },
    { role: 'assistant', content: '\nZeile eins\n\nZeile  zwei 🎉 ' }
  ],
  // Ends with a user turn: the loss is on the middle one only.
  [
    { role: 'user', content: 'One question' },
    { role: 'assistant', content: 'One answer' },
    { role: 'user', content: 'A question left open' }
  ],
  [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: 'Let me look that up.' },
    { role: 'tool', content: '{"temperature": 21}' },
    { role: 'assistant', content: 'It is 21 °C.' }
  ],
  // With the glued template, "assistant" + "er" tokenises with a token across the boundary (it is taught).
  [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'er' },
    { role: 'user', content: 'more' },
    { role: 'assistant', content: 'ers and more' }
  ]
]

let dir: string
const checkpoints: Record<'chatml' | 'llama3' | 'zephyr' | 'glued', string> = { chatml: '', llama3: '', zephyr: '', glued: '' }
const tokenizers: Partial<Record<keyof typeof checkpoints, TextTokenizer>> = {}
let bare: TextTokenizer

const withTemplate = (fixture: string, name: string, template: unknown): string => withChatTemplate(fixture, dir, name, template)

beforeAll(async () => {
  dir = tempDir('chat-template')
  checkpoints.chatml = withTemplate('qwen2-lm', 'qwen2-chatml', chatml)
  checkpoints.llama3 = withTemplate('llama-lm', 'llama-llama3', llama3)
  checkpoints.zephyr = withTemplate('llama-lm', 'llama-zephyr', [
    { name: 'default', template: zephyr },
    { name: 'tool_use', template: '{{ raise_exception("not this one") }}' }
  ])
  checkpoints.glued = withTemplate('llama-lm', 'llama-glued', glued)
  for (const name of Object.keys(checkpoints) as (keyof typeof checkpoints)[]) tokenizers[name] = await TextTokenizer.load(checkpoints[name], { engine: 'js' })
  bare = await TextTokenizer.load(hfFixture('qwen2-lm'), { engine: 'js' })
}, 120_000)

interface Reference {
  text?: string
  generation?: string
  ids?: number[]
  mask?: number[]
  error?: string
}

function maskOf(encoded: EncodedExample): number[] {
  const mask = new Array<number>(encoded.ids.length).fill(0)
  for (const [start, end] of encoded.lossSpans ?? []) mask.fill(1, start, end)
  return mask
}

function write(name: string, text: string): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

const jsonl = (rows: unknown[]): string => rows.map((row) => JSON.stringify(row)).join('\n') + '\n'

async function readAllExamples(file: string, tokenizer: TextTokenizer | undefined): Promise<{ examples: TextExample[]; problems: DataProblem[] }> {
  const problems: DataProblem[] = []
  const examples: TextExample[] = []
  for await (const example of readTextExamples(file, { task: 'causal-lm', onProblem: (p) => problems.push(p), ...(tokenizer && { chatTemplate: () => tokenizer.chatTemplate() }) })) examples.push(example)
  return { examples, problems }
}

describe('chat templates against transformers', () => {
  it.each(['chatml', 'llama3', 'zephyr', 'glued'] as const)('%s: rendering, ids and assistant mask equal transformers’ for every conversation', async (name) => {
    const tokenizer = tokenizers[name]!
    const references = hfReference<Reference[]>('hf_chat.py', [], { cases: conversations.map((messages) => ({ checkpoint: checkpoints[name], messages })) })
    const template = tokenizer.chatTemplate()
    for (const [i, messages] of conversations.entries()) {
      const reference = references[i]!
      expect(reference.error, `conversation ${i}`).toBeUndefined()
      expect(template.render(messages), `conversation ${i}`).toBe(reference.text)
      expect(template.render(messages, true), `conversation ${i}, generation prompt`).toBe(reference.generation)
      const example: TextExample = { row: i + 1, text: '', messages }
      const encoded = encodeExample(tokenizer, 'causal-lm', example, 4096)
      expect(encoded.ids, `conversation ${i}`).toEqual(reference.ids)
      expect(maskOf(encoded), `conversation ${i}`).toEqual(reference.mask)
      expect(encoded.fullLength).toBe(reference.ids!.length)
      // Every assistant turn has loss, ending on the template's end-of-turn token.
      const turns = messages.filter((m) => m.role === 'assistant').length
      expect(encoded.lossSpans).toHaveLength(turns)
      const endOfTurn = name === 'chatml' ? tokenizer.encode('<|im_end|>', { addSpecialTokens: false }).ids[0] : tokenizer.eosId
      for (const [, end] of encoded.lossSpans!) expect(encoded.ids[end - 1]).toBe(endOfTurn)
    }
    if (name === 'glued') {
      // The case the pieces cannot settle: the tokens of the text before the turn are not a prefix of the whole's.
      const text = tokenizer.chatTemplate().render(conversations[6]!.slice(0, 1), true)
      const before = tokenizer.encode(text, { addSpecialTokens: false }).ids
      expect(references[6]!.ids!.slice(0, before.length)).not.toEqual(before)
    }
    // The batch path (encodeMany, as datasets are encoded) gives the same.
    const batch = await encodeExamples(tokenizer, 'causal-lm', conversations.map((messages, i) => ({ row: i + 1, text: '', messages })), 4096)
    expect(batch.map((e) => e.ids)).toEqual(references.map((r) => r.ids))
    expect(batch.map(maskOf)).toEqual(references.map((r) => r.mask))
    // And on the native engine where it runs (the Rust tokenizers addon), in its batches.
    const native = await TextTokenizer.load(checkpoints[name])
    const nativeBatch = await encodeExamples(native, 'causal-lm', conversations.map((messages, i) => ({ row: i + 1, text: '', messages })), 4096)
    expect(nativeBatch.map(maskOf)).toEqual(references.map((r) => r.mask))
    expect(nativeBatch.map((e) => e.ids)).toEqual(references.map((r) => r.ids))
  }, 120_000)

  it('truncation keeps the start: ids and mask are the untruncated ones, cut', async () => {
    const tokenizer = tokenizers.chatml!
    const messages = conversations[2]!
    const whole = encodeExample(tokenizer, 'causal-lm', { row: 1, text: '', messages }, 4096)
    for (const limit of [5, 30, 41, 57, whole.ids.length - 1]) {
      const cut = encodeExample(tokenizer, 'causal-lm', { row: 1, text: '', messages }, limit)
      expect(cut.ids).toEqual(whole.ids.slice(0, limit))
      expect(maskOf(cut)).toEqual(maskOf(whole).slice(0, limit))
      expect(cut.fullLength).toBe(whole.ids.length)
    }
  })

  it('a template that raises refuses the row with its message; a checkpoint without one is an error naming tokenizer_config.json', async () => {
    const file = write('raises.jsonl', jsonl([{ messages: conversations[0] }, { messages: [{ role: 'assistant', content: 'first' }, { role: 'user', content: 'then' }] }]))
    const [reference] = hfReference<Reference[]>('hf_chat.py', [], { cases: [{ checkpoint: checkpoints.zephyr, messages: [{ role: 'assistant', content: 'first' }, { role: 'user', content: 'then' }] }] })
    expect(reference!.error).toContain('Conversations must start with a user or system message')
    const { examples, problems } = await readAllExamples(file, tokenizers.zephyr)
    expect(examples.map((e) => e.row)).toEqual([1])
    const errors = problems.filter((p) => p.severity === 'error')
    expect(errors.map((p) => [p.code, p.row, p.field])).toEqual([['chat-template-error', 2, 'messages']])
    expect(errors[0]!.message).toMatch(/^raises\.jsonl, row 2: the chat template in tokenizer_config\.json refused the conversation: Conversations must start with a user or system message$/)

    expect(() => bare.chatTemplate()).toThrow(/tokenizer_config\.json: the checkpoint has no "chat_template"/)
    const report = await validateTextDataset(file, { task: 'causal-lm', tokenizer: bare })
    expect(report.usable).toBe(false)
    const missing = report.problems.filter((p) => p.code === ('chat-template-missing' as DataProblem['code']))
    expect(missing).toHaveLength(1)
    expect(missing[0]!.message).toMatch(/raises\.jsonl holds conversations, but .*qwen2-lm[/\\]tokenizer_config\.json: the checkpoint has no "chat_template"/)
    // Without a tokenizer the shapes are still checked, and nothing is rendered.
    expect((await validateTextDataset(file, { task: 'causal-lm' })).usable).toBe(true)
  })

  it('refuses bad conversations with row-numbered problems naming the column', async () => {
    const file = write(
      'bad.jsonl',
      jsonl([
        { messages: conversations[0] },
        { messages: 'hello' },
        { messages: [] },
        { messages: [{ content: 'no role' }, { role: 'assistant', content: 'ok' }] },
        { messages: [{ role: 'narrator', content: 'x' }, { role: 'assistant', content: 'ok' }] },
        { messages: [{ role: 'user', content: 42 }, { role: 'assistant', content: 'ok' }] },
        { messages: [{ role: 'user', content: 'only a question' }] },
        { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: '  ' }] },
        { messages: ['not an object', { role: 'assistant', content: 'ok' }] },
        { messages: [{ role: 'user', content: 'fine' }, { role: 'assistant', content: 'too' }] }
      ])
    )
    const { examples, problems } = await readAllExamples(file, tokenizers.chatml)
    expect(examples.map((e) => e.row)).toEqual([1, 10])
    expect(problems.filter((p) => p.severity === 'error').map((p) => [p.row, p.field, p.code, p.message.replace(/^bad\.jsonl, row \d+: /, '')])).toEqual([
      [2, 'messages', 'chat-messages-invalid', '"messages" should be a list of messages ({"role": …, "content": …}), found the text "hello"'],
      [3, 'messages', 'chat-messages-invalid', '"messages" is an empty list of messages'],
      [4, 'messages', 'chat-messages-invalid', '"messages" message 1 has no "role" (one of system, user, assistant, tool)'],
      [5, 'messages', 'chat-messages-invalid', '"messages" message 1 has the role the text "narrator"; roles are system, user, assistant, tool'],
      [6, 'messages', 'chat-messages-invalid', '"messages" message 1 should have text "content", found a number'],
      [7, 'messages', 'chat-no-assistant', '"messages" has no assistant message; the loss is on assistant turns only, so the row teaches nothing'],
      [8, 'messages', 'chat-messages-invalid', '"messages" message 2 (assistant) has empty "content": there is nothing to learn in it'],
      [9, 'messages', 'chat-messages-invalid', '"messages" message 1 should be an object with "role" and "content", found the text "not an object"']
    ])
    expect(problems.find((p) => p.code === 'column-detected')?.message).toBe('bad.jsonl: using column "messages" as the conversation (loss on assistant turns only)')
  })

  it('a messages column wins over prompt/text columns; a chosen column is used, a missing one reported', async () => {
    const file = write('ultrachat.jsonl', jsonl([{ prompt: 'What is the capital of France?', prompt_id: 'a1', messages: conversations[0], convo: conversations[1] }]))
    const { examples } = await readAllExamples(file, tokenizers.chatml)
    expect(examples[0]!.messages).toEqual(conversations[0])
    const problems: DataProblem[] = []
    const chosen: TextExample[] = []
    for await (const e of readTextExamples(file, { task: 'causal-lm', columns: { messages: 'convo' }, onProblem: (p) => problems.push(p), chatTemplate: tokenizers.chatml!.chatTemplate() })) chosen.push(e)
    expect(chosen[0]!.messages).toEqual(conversations[1])
    const missing: DataProblem[] = []
    for await (const e of readTextExamples(file, { task: 'causal-lm', columns: { messages: 'nope' }, onProblem: (p) => missing.push(p) })) chosen.push(e)
    expect(missing.map((p) => p.message)).toEqual(['column "nope" not found in ultrachat.jsonl; columns: prompt, prompt_id, messages, convo'])
  })

  it('a Parquet messages column reads as the same conversations as JSON Lines', async () => {
    const rows = conversations.slice(0, 4)
    const parquet = writeParquet(join(dir, 'chat.parquet'), { id: { type: 'string', values: rows.map((_, i) => `c${i}`) }, messages: { type: 'messages', values: rows } })
    const lines = write('chat.jsonl', jsonl(rows.map((messages, i) => ({ id: `c${i}`, messages }))))
    const fromParquet = await readAllExamples(parquet, tokenizers.chatml)
    const fromLines = await readAllExamples(lines, tokenizers.chatml)
    expect(fromParquet.problems.filter((p) => p.severity === 'error')).toEqual([])
    expect(fromParquet.examples).toEqual(fromLines.examples)
    expect(fromParquet.examples.map((e) => e.messages)).toEqual(rows)
  })
})

describe('encoded chat datasets', () => {
  it('labels are the ids on assistant turns and -100 elsewhere, in one thread and in worker threads; packing keeps the mask', async () => {
    const tokenizer = tokenizers.chatml!
    const references = hfReference<Reference[]>('hf_chat.py', [], { cases: conversations.map((messages) => ({ checkpoint: checkpoints.chatml, messages })) })
    const file = write('train-chat.jsonl', jsonl(conversations.map((messages) => ({ messages }))))
    const expectLabels = async (prefix: string): Promise<void> => {
      const dataset = await EncodedDataset.open(prefix)
      try {
        expect(dataset.meta).toMatchObject({ version: 2, lossMask: true, examples: conversations.length })
        for await (const batch of dataset.batches(conversations.map((_, i) => i), { batchSize: conversations.length })) {
          for (let b = 0; b < batch.size; b++) {
            const ids = references[b]!.ids!
            const labels = [...batch.labels.subarray(b * batch.length, b * batch.length + ids.length)]
            expect(labels).toEqual(ids.map((id, t) => (references[b]!.mask![t] === 1 ? id : -100)))
            expect([...batch.inputIds.subarray(b * batch.length, b * batch.length + ids.length)]).toEqual(ids)
          }
        }
      } finally {
        await dataset.close()
      }
    }
    await encodeTextDataset(file, join(dir, 'chat-single'), { task: 'causal-lm', tokenizer, maxLength: 4096 })
    await expectLabels(join(dir, 'chat-single'))
    await encodeTextDataset(file, join(dir, 'chat-pooled'), { task: 'causal-lm', tokenizer, maxLength: 4096, parallel: workerParallelEncoding({ workers: 2, minBytes: 0 }) })
    await expectLabels(join(dir, 'chat-pooled'))
    for (const ext of ['ids', 'index', 'mask']) expect(readFileSync(join(dir, `chat-pooled.${ext}`))).toEqual(readFileSync(join(dir, `chat-single.${ext}`)))

    // Packed into blocks of 16: the blocks are the joined ids, their labels the joined masks.
    const meta = await encodeTextDataset(file, join(dir, 'chat-packed'), { task: 'causal-lm', tokenizer, maxLength: 16, pack: true })
    const joinedIds = references.flatMap((r) => r.ids!)
    const joinedMask = references.flatMap((r) => r.mask!)
    expect(meta.examples).toBe(Math.floor(joinedIds.length / 16))
    const packed = await EncodedDataset.open(join(dir, 'chat-packed'))
    try {
      const order = Array.from({ length: meta.examples }, (_, i) => i)
      for await (const batch of packed.batches(order, { batchSize: meta.examples })) {
        expect([...batch.inputIds]).toEqual(joinedIds.slice(0, meta.examples * 16))
        expect([...batch.labels]).toEqual(joinedIds.slice(0, meta.examples * 16).map((id, t) => (joinedMask[t] === 1 ? id : -100)))
      }
    } finally {
      await packed.close()
    }
  }, 120_000)

  it('prompt/completion data still encodes as version 1, without a mask file', async () => {
    const file = write('pc.jsonl', jsonl([{ prompt: 'Q: 2+2?', completion: ' 4' }]))
    const meta = await encodeTextDataset(file, join(dir, 'pc'), { task: 'causal-lm', tokenizer: tokenizers.chatml!, maxLength: 64 })
    expect(meta.version).toBe(1)
    expect(meta.lossMask).toBeUndefined()
    const dataset = await EncodedDataset.open(join(dir, 'pc'))
    await dataset.close()
  })

  it('a template refusal stops the encoding, naming the row', async () => {
    const file = write('refused.jsonl', jsonl([{ messages: conversations[0] }, { messages: [{ role: 'assistant', content: 'first' }, { role: 'user', content: 'then' }] }]))
    await expect(encodeTextDataset(file, join(dir, 'refused'), { task: 'causal-lm', tokenizer: tokenizers.zephyr!, maxLength: 64 })).rejects.toThrow(/refused\.jsonl, row 2: the chat template/)
  })

  it('validation counts kept and trained tokens, and warns of conversations with no assistant token within the limit', async () => {
    const tokenizer = tokenizers.chatml!
    const references = hfReference<Reference[]>('hf_chat.py', [], { cases: conversations.map((messages) => ({ checkpoint: checkpoints.chatml, messages })) })
    const file = write('validate-chat.jsonl', jsonl(conversations.map((messages) => ({ messages }))))
    const limit = 30
    const report = await validateTextDataset(file, { task: 'causal-lm', tokenizer, maxLength: limit })
    expect(report.usable).toBe(true)
    expect(report.summary.columns).toEqual({ messages: 'messages' })
    const tokens = report.summary.tokens!
    expect(tokens.kept).toBe(references.reduce((sum, r) => sum + Math.min(limit, r.ids!.length), 0))
    expect(tokens.trained).toBe(references.reduce((sum, r) => sum + r.mask!.slice(0, limit).reduce((a, b) => a + b, 0), 0))
    const untrained = references.map((r, i) => [i + 1, r.mask!.slice(0, limit).includes(1)] as const).filter(([, any]) => !any)
    expect(tokens.untrainedRows).toBe(untrained.length)
    expect(untrained.length).toBeGreaterThan(0)
    expect(report.problems.find((p) => p.code === ('chat-no-assistant' as DataProblem['code']))).toMatchObject({ severity: 'warning', row: untrained[0]![0] })
  })
})
