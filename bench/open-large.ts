// Peak memory of opening a large checkpoint: a random-weight checkpoint with Qwen2-0.5B's shapes (24 layers,
// hidden 896, MLP 4864, 14 heads with 2 key/value heads, vocabulary 151,936, tied embeddings; 494 M values)
// in BF16, sharded in two files with model.safetensors.index.json as save_pretrained writes it (~0.99 GB).
// Each measurement runs in its own child process and reports its peak resident memory (maxRSS):
//   open      openCheckpoint + the family's targets (what the Model step and `siva inspect` read first)
//   one       open, then read one q_proj as float64 (what an SVD worker is handed) and one embedding row block
//   stream    open, then read every tensor once, one at a time, as `siva inspect` does
//   whole     the reference, in the same run: both shard files read whole into memory (readFileSync)
// and prints each peak against the checkpoint's size on disk and against the whole-file reference.
//   npm run bench:open            (or: node bin/run-ts.mjs bench/open-large.ts [--keep]: keep the written checkpoint)
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadNote } from './load'

const root = fileURLToPath(new URL('..', import.meta.url))
const dir = join(root, 'bench/.tmp/qwen2-0.5b-random')
const shapes = { hidden: 896, inner: 4864, layers: 24, heads: 14, kvHeads: 2, vocab: 151936 }

/** The checkpoint's tensors in save_pretrained's order, with the shard each goes to. */
function tensorList(): { name: string; shape: number[] }[] {
  const { hidden, inner, layers, heads, kvHeads, vocab } = shapes
  const head = hidden / heads
  const list: { name: string; shape: number[] }[] = [{ name: 'model.embed_tokens.weight', shape: [vocab, hidden] }]
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`
    list.push(
      { name: `${p}.input_layernorm.weight`, shape: [hidden] },
      { name: `${p}.self_attn.q_proj.weight`, shape: [heads * head, hidden] },
      { name: `${p}.self_attn.q_proj.bias`, shape: [heads * head] },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kvHeads * head, hidden] },
      { name: `${p}.self_attn.k_proj.bias`, shape: [kvHeads * head] },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kvHeads * head, hidden] },
      { name: `${p}.self_attn.v_proj.bias`, shape: [kvHeads * head] },
      { name: `${p}.self_attn.o_proj.weight`, shape: [hidden, heads * head] },
      { name: `${p}.post_attention_layernorm.weight`, shape: [hidden] },
      { name: `${p}.mlp.gate_proj.weight`, shape: [inner, hidden] },
      { name: `${p}.mlp.up_proj.weight`, shape: [inner, hidden] },
      { name: `${p}.mlp.down_proj.weight`, shape: [hidden, inner] }
    )
  }
  list.push({ name: 'model.norm.weight', shape: [hidden] })
  return list
}

/** BF16 bytes of seeded N(0, 0.02)-ish values (a 64 K table repeated: finite, never NaN). */
function bf16Bytes(count: number, seed: number): Uint8Array {
  const table = new Uint16Array(65536)
  const f = new Float32Array(1)
  const bits = new Uint32Array(f.buffer)
  let state = seed >>> 0 || 1
  for (let i = 0; i < table.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    f[0] = ((state / 4294967296) * 2 - 1) * 0.035
    table[i] = bits[0]! >>> 16
  }
  const out = new Uint16Array(count)
  for (let i = 0; i < count; i += table.length) out.set(table.subarray(0, Math.min(table.length, count - i)), i)
  return new Uint8Array(out.buffer)
}

async function writeCheckpoint(): Promise<void> {
  if (existsSync(join(dir, 'model.safetensors.index.json'))) return
  const { writeSafetensors } = await import('../src/main/engine/io')
  mkdirSync(dir, { recursive: true })
  const list = tensorList()
  const half = Math.ceil(list.length / 2)
  const shards = [list.slice(0, half), list.slice(half)]
  const names = shards.map((_, i) => `model-0000${i + 1}-of-00002.safetensors`)
  const weightMap: Record<string, string> = {}
  let total = 0
  for (const [i, shard] of shards.entries()) {
    await writeSafetensors(
      join(dir, names[i]!),
      shard.map((t, j) => {
        const count = t.shape.reduce((a, b) => a * b, 1)
        total += 2 * count
        weightMap[t.name] = names[i]!
        return { name: t.name, dtype: 'BF16' as const, shape: t.shape, data: () => bf16Bytes(count, 1 + 97 * i + j) }
      }),
      { format: 'pt' }
    )
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2))
  const { hidden, inner, layers, heads, kvHeads, vocab } = shapes
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: hidden, intermediate_size: inner, num_hidden_layers: layers, num_attention_heads: heads, num_key_value_heads: kvHeads, vocab_size: vocab, tie_word_embeddings: true, rope_theta: 1000000, rms_norm_eps: 1e-6, max_position_embeddings: 32768, torch_dtype: 'bfloat16', hidden_act: 'silu' }, null, 2)
  )
}

const child = `
const mode = process.argv[1], dir = process.argv[2]
const { readdirSync, readFileSync } = await import('node:fs')
const { join } = await import('node:path')
if (mode === 'none') {
  await import(${JSON.stringify(join(root, 'src/main/engine/io/index.ts'))})
  await import(${JSON.stringify(join(root, 'src/main/engine/models/registry.ts'))})
  console.log(JSON.stringify({ maxRss: process.resourceUsage().maxRSS * 1024 }))
} else if (mode === 'whole') {
  const held = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).map((f) => readFileSync(join(dir, f)))
  console.log(JSON.stringify({ bytes: held.reduce((s, b) => s + b.length, 0), maxRss: process.resourceUsage().maxRSS * 1024 }))
} else {
  const { openCheckpoint } = await import(${JSON.stringify(join(root, 'src/main/engine/io/index.ts'))})
  const { familyFor } = await import(${JSON.stringify(join(root, 'src/main/engine/models/registry.ts'))})
  const source = await openCheckpoint(dir)
  const targets = familyFor(source.config).targets(source.config, source.tensors)
  let read = 0
  if (mode === 'one') {
    read += (await source.readFloat64(targets[0].weightTensor)).length
  } else if (mode === 'stream') {
    for (const t of source.tensors) read += (await source.readFloat64(t.name)).length
  }
  await source.close()
  console.log(JSON.stringify({ targets: targets.length, tensors: source.tensors.length, read, maxRss: process.resourceUsage().maxRSS * 1024 }))
}
`

function measure(mode: string): { maxRss: number; seconds: number; [key: string]: number } {
  const started = performance.now()
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child, mode, dir], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 })
  if (run.status !== 0) throw new Error(`${mode}: ${run.stderr}`)
  return { ...(JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { maxRss: number }), seconds: (performance.now() - started) / 1000 }
}

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)} GiB`
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`

console.log(`open-large bench — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}; at the start: ${loadNote()}`)
await writeCheckpoint()
const size = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'].reduce((s, f) => s + statSync(join(dir, f)).size, 0)
console.log(`checkpoint: Qwen2-0.5B shapes, random BF16, 2 shards, ${gib(size)} on disk (${dir})`)
const baseline = measure('none')
const results = ['open', 'one', 'stream', 'whole'].map((mode) => ({ mode, ...measure(mode) }))
const whole = results.find((r) => r.mode === 'whole')!
console.log(`\nmode     peak RSS   above node alone   ÷ size on disk   ÷ whole-file reference   seconds`)
for (const r of results) {
  const above = r.maxRss - baseline.maxRss
  console.log(`${r.mode.padEnd(8)} ${mib(r.maxRss).padStart(8)}   ${mib(above).padStart(16)}   ${(above / size).toFixed(3).padStart(14)}   ${(above / (whole.maxRss - baseline.maxRss)).toFixed(3).padStart(22)}   ${r.seconds.toFixed(1).padStart(7)}`)
}
console.log(`(node with the engine's modules loaded and nothing opened: ${mib(baseline.maxRss)}; at the end: ${loadNote()})`)
if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true })
