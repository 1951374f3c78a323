import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { transformersReference } from '../unit/models/hfModels'
import { applyAdapter, exportRun, restoreRun, type ExportRequest } from '../../src/main/engine/export'
import { openSafetensors, writeSafetensors } from '../../src/main/engine/io'
import { defaultTrainConfig, trainRun } from '../../src/main/engine/training/loop'
import type { TrainConfig } from '../../src/shared/training'
import { pythonWithNumpy, repoRoot, tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'
import { inProcessDecompose as decompose } from '../helpers/decompose'

/**
 * `siva export` end to end: real runs trained on the tiny checkpoints, exported, and the files read back
 * by numpy (tests/reference/check_export.py), by the torch reference forward pass, and by the engine.
 */


const models = join(repoRoot, 'tests/fixtures/models')
const samples = join(repoRoot, 'tests/fixtures/samples')

async function train(config: TrainConfig, runDir: string): Promise<void> {
  for await (const event of trainRun(config, runDir, { decompose })) if (event.type === 'error') throw new Error(event.message)
}

function exportAll(request: ExportRequest): ReturnType<typeof exportRun> {
  return exportRun(request, { decompose })
}

/** Train `config` into a fresh run and export it merged, as a SiVA adapter and (unless told not to) as PEFT LoRA. */
async function trainAndExport(prefix: string, config: TrainConfig, options: { peft?: boolean } = {}): Promise<{ root: string; runDir: string; merged: string; adapter: string; peft?: string }> {
  const root = tempDir(prefix)
  const runDir = join(root, 'run')
  await train(config, runDir)
  const folders = { merged: join(root, 'merged'), adapter: join(root, 'adapter'), ...(options.peft !== false && { peft: join(root, 'peft') }) }
  await exportAll({ runDir, outputs: { merged: folders.merged, adapter: folders.adapter, ...(folders.peft && { 'peft-lora': folders.peft }) } })
  return { root, runDir, ...folders }
}

interface TargetCheck {
  name: string
  dtype: string
  k: number
  deltaNorm: number
  adapterDeltaNorm: number
  roundingBound: number
  sigmaBeyondK: number
  outsideBandNorm?: number
}

interface Checked {
  layout: { sameFiles: boolean; problems: string[] }
  untouched: { count: number; different: string[] }
  targets: TargetCheck[]
  rounding: Record<string, { dtype: string; elements: number; equal: number; maxUlps: number }>
  head: Record<string, { dtype: string; equal: boolean; shape: number[] }>
  peft: null | { config: Record<string, unknown>; modules: { module: string; rank: number; configRank: number; scaling: number; shapeA: number[]; shapeB: number[]; relativeError: number }[]; headKeys: string[] }
}

function numpyCheck(spec: { base: string; merged: string; adapter: string; peft?: string }): Checked {
  const out = execFileSync(pythonWithNumpy(), [join(repoRoot, 'tests/reference/check_export.py'), '-'], { input: JSON.stringify(spec), encoding: 'utf8', maxBuffer: 64 << 20 })
  return JSON.parse(out) as Checked
}

/** What every SiVA merge must satisfy, measured by numpy from the files. */
function expectSivaMerge(checked: Checked, options: { head: boolean }): void {
  expect(checked.layout.problems).toEqual([])
  expect(checked.layout.sameFiles).toBe(true)
  expect(checked.untouched.count).toBeGreaterThan(10)
  expect(checked.untouched.different).toEqual([])
  expect(checked.targets.length).toBeGreaterThan(0)
  for (const t of checked.targets) {
    // Training moved every target past what rounding alone could do, and the merged ΔW is the adapter's up to that rounding.
    expect(t.adapterDeltaNorm).toBeGreaterThan(2 * t.roundingBound)
    expect(Math.abs(t.deltaNorm - t.adapterDeltaNorm)).toBeLessThanOrEqual(t.roundingBound)
    // Rank ≤ k: what lies beyond the k-th singular value of W' − W is rounding.
    expect(t.sigmaBeyondK).toBeLessThanOrEqual(t.roundingBound)
    // Orthogonal to W's singular directions outside the trained band.
    expect(t.outsideBandNorm!).toBeLessThanOrEqual(1e-5 * t.deltaNorm + t.roundingBound)
  }
  for (const [tensor, r] of Object.entries(checked.rounding)) {
    // Rounded once from float64, ties to even: numpy's own rounding of W + ΔW gives the same bits.
    expect({ tensor, equal: r.equal }).toEqual({ tensor, equal: r.elements })
  }
  if (options.head) {
    expect(Object.keys(checked.head).length).toBeGreaterThan(0)
    for (const h of Object.values(checked.head)) expect(h.equal).toBe(true)
  }
}

function bytesOf(file: string): Buffer {
  return readFileSync(file)
}

describe('export of a SiVA run on tiny-bert (F32, a new 2-class head)', () => {
  let root: string
  let runDir: string
  let out: { merged: string; adapter: string; peft: string; report: string; compact: string }
  let model: string
  beforeAll(async () => {
    root = tempDir('export-bert')
    model = tinyBertWithTokenizer(join(root, 'tiny-bert'))
    runDir = join(root, 'run')
    const data = sentimentCsv(join(root, 'sentiment.csv'), 64)
    await train(defaultTrainConfig({ model, data, task: 'classify', method: 'siva', maxSteps: 6, batchSize: 8, lr: 0.05, headLr: 0.01, seed: 3, evalEvery: 3, checkpointEvery: 3, backend: 'wasm' }), runDir)
    out = { merged: join(root, 'out/merged'), adapter: join(root, 'out/adapter'), peft: join(root, 'out/peft'), report: join(root, 'out/report'), compact: join(root, 'out/compact') }
    const result = await exportAll({ runDir, checkpoint: 'last', outputs: { merged: out.merged, adapter: out.adapter, 'peft-lora': out.peft, report: out.report } })
    expect(result.checkpoint.step).toBe(6)
    expect(result.outputs.map((o) => o.kind)).toEqual(['merged', 'adapter', 'peft-lora', 'report'])
    await exportAll({ runDir, checkpoint: 'last', outputs: { adapter: out.compact }, compact: true })
  }, 120_000)

  /** numpy's reading of the merged, adapter and PEFT folders: one run of check_export.py, read by the merge and the PEFT cases. */
  let checkedOnce: Checked | undefined
  const numpyChecked = (): Checked => (checkedOnce ??= numpyCheck({ base: model, merged: out.merged, adapter: out.adapter, peft: out.peft }))

  it('merged: same layout, untouched tensors byte-identical, ΔW of rank ≤ k orthogonal to the other directions, rounded once (numpy)', () => {
    const checked = numpyChecked()
    expectSivaMerge(checked, { head: true })
    expect(checked.targets.map((t) => [t.name, t.k])).toEqual([
      ['bert.encoder.layer.0.attention.self.query', 3],
      ['bert.encoder.layer.0.attention.self.value', 3],
      ['bert.encoder.layer.1.attention.self.query', 3],
      ['bert.encoder.layer.1.attention.self.value', 3]
    ])
    expect(checked.head['classifier.weight']!.shape).toEqual([2, 32])
  })

  it('merged: config.json says what transformers needs to rebuild the head; the tokenizer comes along', () => {
    const config = JSON.parse(readFileSync(join(out.merged, 'config.json'), 'utf8')) as Record<string, unknown>
    expect(config['architectures']).toEqual(['BertForSequenceClassification'])
    expect(config['num_labels']).toBe(2)
    expect(config['id2label']).toEqual({ 0: 'neg', 1: 'pos' })
    expect(config['label2id']).toEqual({ neg: 0, pos: 1 })
    expect(config['problem_type']).toBe('single_label_classification')
    expect(config['hidden_size']).toBe(32)
    expect(readdirSync(out.merged).sort()).toEqual(['.siva-export', 'README.md', 'config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'])
    expect(bytesOf(join(out.merged, 'tokenizer.json')).equals(bytesOf(join(model, 'tokenizer.json')))).toBe(true)
  })

  it('merged: transformers’ BertForSequenceClassification on the merged files gives the trained model’s logits', async () => {
    const restored = await restoreRun(runDir, 'last', decompose, { keepModel: true })
    try {
      const inputIds = [[2, 10, 11, 12, 3, 0], [2, 20, 21, 3, 0, 0]]
      const attentionMask = [[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]]
      const ours = tf.tidy(() => restored.model!.forward({ batchSize: 2, length: 6, inputIds: Int32Array.from(inputIds.flat()), attentionMask: Int32Array.from(attentionMask.flat()), tokenTypeIds: new Int32Array(12) }).arraySync()) as number[][]
      // The real transformers (../shared/hfref), from the merged folder alone.
      const [reference] = transformersReference([{ model: out.merged, task: 'classification', input_ids: inputIds, attention_mask: attentionMask }])
      expect(reference!.class).toBe('BertForSequenceClassification')
      expect(Object.values(reference!.loading_info).flat()).toEqual([])
      const gap = Math.max(...ours.flat().map((v, i) => Math.abs(v - reference!.logits.values[i]!)))
      expect(gap).toBeLessThan(1e-4)
    } finally {
      await restored.close()
    }
  }, 60_000)

  it('PEFT LoRA: lora_B·lora_A is ΔW to 1e-6, PEFT key names and config, the head as modules_to_save', () => {
    const checked = numpyChecked()
    const peft = checked.peft!
    expect(peft.modules).toHaveLength(4)
    for (const m of peft.modules) {
      expect(m.relativeError).toBeLessThan(1e-6)
      expect(m.scaling).toBe(1)
      expect(m.shapeA).toEqual([3, 32])
      expect(m.shapeB).toEqual([32, 3])
    }
    expect(peft.config).toMatchObject({ peft_type: 'LORA', task_type: 'SEQ_CLS', r: 3, lora_alpha: 3, fan_in_fan_out: false, bias: 'none', modules_to_save: ['classifier'], target_modules: peft.modules.map((m) => m.module) })
    expect(peft.headKeys).toEqual(['base_model.model.classifier.bias', 'base_model.model.classifier.weight'])
  })

  it('the adapter, full or compact, put back onto its base reproduces the merged model byte for byte', async () => {
    const compactDoc = JSON.parse(readFileSync(join(out.compact, 'adapter.json'), 'utf8')) as { compact: boolean; trainableParameters: number; targets: { parameters: { name: string }[] }[] }
    expect(compactDoc.compact).toBe(true)
    expect(compactDoc.targets.every((t) => t.parameters.map((p) => p.name).join() === 'delta')).toBe(true)
    // 4 targets × k = 3 singular values, plus the 2×32 + 2 head.
    expect(compactDoc.trainableParameters).toBe(12 + 66)
    for (const adapter of [out.adapter, out.compact]) {
      const merged = join(root, `applied-${adapter.endsWith('compact') ? 'compact' : 'full'}`)
      await applyAdapter(adapter, model, merged, { decompose })
      expect(bytesOf(join(merged, 'model.safetensors')).equals(bytesOf(join(out.merged, 'model.safetensors')))).toBe(true)
      expect(readFileSync(join(merged, 'config.json'), 'utf8')).toBe(readFileSync(join(out.merged, 'config.json'), 'utf8'))
    }
  }, 60_000)

  it('a compact adapter refuses a base whose weights are not the ones it was trained on', async () => {
    const other = join(root, 'other-base')
    mkdirSync(other)
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(model, f), join(other, f))
    // The same checkpoint with one weight of one target nudged.
    const source = await openSafetensors(join(model, 'model.safetensors'))
    const tensors = await Promise.all(source.tensors.map(async (t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: new Uint8Array(await source.readRaw(t.name)) })))
    await source.close()
    const query = tensors.find((t) => t.name === 'bert.encoder.layer.1.attention.self.query.weight')!
    const values = new Float32Array(query.data.buffer.slice(0))
    values[5]! += 1e-3
    query.data = new Uint8Array(values.buffer)
    await writeSafetensors(join(other, 'model.safetensors'), tensors, { format: 'pt' })
    await expect(applyAdapter(out.compact, other, join(root, 'applied-other'), { decompose })).rejects.toThrow(/bert\.encoder\.layer\.1\.attention\.self\.query was trained on a base weight with sha256 .* this is not the adapter's base model/)
    expect(existsSync(join(root, 'applied-other'))).toBe(false)
  })

  it('the report folder holds report.json and a self-contained report.html', () => {
    expect(readdirSync(out.report).sort()).toEqual(['.siva-export', 'report.html', 'report.json'])
    const html = readFileSync(join(out.report, 'report.html'), 'utf8')
    expect(html).not.toMatch(/(src|href)=["']?https?:/)
  })

  it('refuses to overwrite an existing folder unless forced; forced, replaces it whole', async () => {
    await expect(exportAll({ runDir, outputs: { 'peft-lora': out.peft } })).rejects.toThrow(/already exists; choose a new folder or pass --force/)
    writeFileSync(join(out.peft, 'stale.txt'), 'from before')
    await exportAll({ runDir, outputs: { 'peft-lora': out.peft }, force: true })
    expect(readdirSync(out.peft).sort()).toEqual(['.siva-export', 'README.md', 'adapter_config.json', 'adapter_model.safetensors'])
    expect(readdirSync(join(out.peft, '..')).filter((e) => e.startsWith('.'))).toEqual([])
  }, 60_000)

  it('checks free space before writing: a too-small disk gets a clear message and no folder', async (context) => {
    const disk = join(root, 'small-disk')
    mkdirSync(disk)
    // A real 1 MiB file system; mounting needs root (CI containers have it), elsewhere the test says why it did not run.
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk], { encoding: 'utf8' })
    if (mounted.status !== 0) {
      context.skip(`cannot mount a small tmpfs here (${(mounted.stderr || mounted.error?.message || 'not permitted').trim()})`)
      return
    }
    try {
      await expect(exportAll({ runDir, outputs: { merged: join(disk, 'merged') } })).rejects.toThrow(/small-disk: not enough free disk space for the export: it needs about [\d.]+ MiB, [\d.]+ MiB are free/)
      expect(readdirSync(disk)).toEqual([])
    } finally {
      spawnSync('umount', [disk])
    }
  })

  it('says which checkpoints exist when the one asked for does not', async () => {
    await expect(exportAll({ runDir, checkpoint: 4, outputs: { adapter: join(root, 'never') } })).rejects.toThrow(/no checkpoint at step 4; it holds steps 3, 6/)
  })
})

describe('export of a SiVA run on a BF16 checkpoint in two shards', () => {
  it('keeps the shards, the index and BF16; rounds W + ΔW once to BF16 as numpy does exactly', async () => {
    const model = join(models, 'tiny-bert-bf16-sharded')
    const { merged, adapter, peft } = await trainAndExport('export-bf16', defaultTrainConfig({ model, data: join(samples, 'spam.csv'), validation: join(samples, 'spam-validation.csv'), task: 'classify', method: 'siva', k: 4, maxSteps: 4, batchSize: 8, lr: 0.3, maxLength: 32, seed: 1, backend: 'wasm' }))
    expect(readdirSync(merged).sort()).toEqual(['.siva-export', 'README.md', 'config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json'])
    const checked = numpyCheck({ base: model, merged, adapter, peft })
    expectSivaMerge(checked, { head: true })
    expect(new Set(checked.targets.map((t) => t.dtype))).toEqual(new Set(['BF16']))
    expect(checked.targets.every((t) => t.k === 4)).toBe(true)
    expect(Object.values(checked.head).map((h) => h.dtype)).toEqual(['BF16', 'BF16'])
    for (const m of checked.peft!.modules) expect(m.relativeError).toBeLessThan(1e-6)
  }, 120_000)
})

describe('export of a SiVA run on GPT-2 (F16, causal LM, fused c_attn)', () => {
  it('merges q and v into c_attn; the PEFT adapter is one c_attn LoRA of rank k_q + k_v with fan_in_fan_out', async () => {
    const model = join(models, 'tiny-gpt2-f16')
    const { merged, adapter, peft } = await trainAndExport('export-gpt2', defaultTrainConfig({ model, data: join(samples, 'brown-continuation.jsonl'), task: 'causal-lm', method: 'siva', maxSteps: 3, batchSize: 4, maxLength: 32, lr: 0.05, seed: 2, backend: 'wasm' }))
    const checked = numpyCheck({ base: model, merged, adapter, peft })
    expectSivaMerge(checked, { head: false })
    expect(checked.targets.map((t) => t.name).slice(0, 2)).toEqual(['transformer.h.0.attn.c_attn.q', 'transformer.h.0.attn.c_attn.v'])
    expect(new Set(checked.targets.map((t) => t.dtype))).toEqual(new Set(['F16']))
    const peftCheck = checked.peft!
    expect(peftCheck.modules.map((m) => m.module)).toEqual([0, 1, 2, 3, 4].map((i) => `transformer.h.${i}.attn.c_attn`))
    // k = round(0.1 · 32) = 3 for q and for v: rank 6, B spans all 96 outputs of c_attn (k's rows stay zero).
    for (const m of peftCheck.modules) {
      expect([m.rank, m.configRank, m.scaling]).toEqual([6, 6, 1])
      expect(m.shapeA).toEqual([6, 32])
      expect(m.shapeB).toEqual([96, 6])
      expect(m.relativeError).toBeLessThan(1e-6)
    }
    expect(peftCheck.config).toMatchObject({ task_type: 'CAUSAL_LM', fan_in_fan_out: true, modules_to_save: null })
    const config = JSON.parse(readFileSync(join(merged, 'config.json'), 'utf8')) as Record<string, unknown>
    expect(config['architectures']).toEqual(['GPT2LMHeadModel'])
    expect(config['id2label']).toBeUndefined()
    for (const f of ['vocab.json', 'merges.txt', 'tokenizer.json', 'generation_config.json']) expect(bytesOf(join(merged, f)).equals(bytesOf(join(model, f)))).toBe(true)
  }, 120_000)
})

describe('export of the other methods', () => {
  let root: string
  let model: string
  let data: string
  beforeAll(() => {
    root = tempDir('export-methods')
    model = tinyBertWithTokenizer(join(root, 'tiny-bert'))
    data = sentimentCsv(join(root, 'sentiment.csv'), 48)
  })
  const config = (method: TrainConfig['method']): TrainConfig => defaultTrainConfig({ model, data, task: 'classify', method, maxSteps: 3, batchSize: 8, seed: 4, backend: 'wasm', ...(method === 'lora' && { lr: 0.01 }) })

  it('LoRA: merged, its own adapter round trip, and PEFT factors equal to the trained ones', async () => {
    const runDir = join(root, 'lora-run')
    await train(config('lora'), runDir)
    const out = { merged: join(root, 'lora/merged'), adapter: join(root, 'lora/adapter'), 'peft-lora': join(root, 'lora/peft') }
    await exportAll({ runDir, outputs: out })
    const checked = numpyCheck({ base: model, merged: out.merged, adapter: out.adapter, peft: out['peft-lora'] })
    expect(checked.untouched.different).toEqual([])
    for (const t of checked.targets) {
      expect(t.k).toBe(8)
      expect(t.sigmaBeyondK).toBeLessThanOrEqual(t.roundingBound)
      expect(Math.abs(t.deltaNorm - t.adapterDeltaNorm)).toBeLessThanOrEqual(t.roundingBound)
    }
    for (const r of Object.values(checked.rounding)) expect(r.equal).toBe(r.elements)
    for (const m of checked.peft!.modules) {
      expect([m.rank, m.scaling]).toEqual([8, 1])
      expect(m.relativeError).toBeLessThan(1e-6)
    }
    const applied = join(root, 'lora/applied')
    await applyAdapter(out.adapter, model, applied, { decompose })
    expect(bytesOf(join(applied, 'model.safetensors')).equals(bytesOf(join(out.merged, 'model.safetensors')))).toBe(true)
  }, 120_000)

  it('full fine-tuning: merged works, an adapter is refused with the reason; head-only: no LoRA to write', async () => {
    const fullRun = join(root, 'full-run')
    await train(config('full'), fullRun)
    await expect(exportAll({ runDir: fullRun, outputs: { merged: join(root, 'full/merged'), adapter: join(root, 'full/adapter') } })).rejects.toThrow(/full fine-tuning changes every weight, so there is no adapter to write/)
    expect(existsSync(join(root, 'full/merged'))).toBe(false)
    await exportAll({ runDir: fullRun, outputs: { merged: join(root, 'full/merged') } })
    const merged = await openSafetensors(join(root, 'full/merged/model.safetensors'))
    const base = await openSafetensors(join(model, 'model.safetensors'))
    // Every weight trained: the embeddings moved, and the file still holds the checkpoint's tensors in its order.
    expect(merged.tensors.slice(0, base.tensors.length - 2).map((t) => t.name)).toEqual(base.tensors.slice(0, -2).map((t) => t.name))
    expect(Buffer.from(await merged.readRaw('bert.embeddings.word_embeddings.weight')).equals(Buffer.from(await base.readRaw('bert.embeddings.word_embeddings.weight')))).toBe(false)
    await merged.close()
    await base.close()

    const headRun = join(root, 'head-run')
    await train(config('head'), headRun)
    await expect(exportAll({ runDir: headRun, outputs: { 'peft-lora': join(root, 'head/peft') } })).rejects.toThrow(/head-only run has no low-rank update to write as LoRA/)
    await exportAll({ runDir: headRun, outputs: { merged: join(root, 'head/merged'), adapter: join(root, 'head/adapter') } })
    const applied = join(root, 'head/applied')
    await applyAdapter(join(root, 'head/adapter'), model, applied, { decompose })
    expect(bytesOf(join(applied, 'model.safetensors')).equals(bytesOf(join(root, 'head/merged/model.safetensors')))).toBe(true)
  }, 180_000)
})

describe('siva export (the command)', () => {
  /** tiny-bert with a 600k-row embedding table (73 MB): big enough that a kill lands mid-write. */
  function bigBert(dir: string): string {
    tinyBertWithTokenizer(dir)
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, vocab_size: 600_000 }, null, 2))
    return dir
  }

  let bigRoot: string
  let bigRun: string
  beforeAll(async () => {
    bigRoot = tempDir('export-kill')
    const model = bigBert(join(bigRoot, 'big-bert'))
    const source = await openSafetensors(join(repoRoot, 'tests/fixtures/models/tiny-bert/model.safetensors'))
    const tensors = await Promise.all(source.tensors.map(async (t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: new Uint8Array(await source.readRaw(t.name)) })))
    await source.close()
    const embeddings = tensors.find((t) => t.name === 'bert.embeddings.word_embeddings.weight')!
    const big = new Float32Array(600_000 * 32)
    big.set(new Float32Array(embeddings.data.buffer.slice(0)))
    embeddings.shape = [600_000, 32]
    embeddings.data = new Uint8Array(big.buffer)
    await writeSafetensors(join(model, 'model.safetensors'), tensors, { format: 'pt' })
    bigRun = join(bigRoot, 'run')
    await train(defaultTrainConfig({ model, data: sentimentCsv(join(bigRoot, 's.csv'), 32), task: 'classify', method: 'siva', maxSteps: 1, batchSize: 8, seed: 1, backend: 'wasm' }), bigRun)
  }, 120_000)

  const siva = (args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'export', bigRun, ...args, '--svd-cache', join(bigRoot, 'cache'), '--quiet'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 })

  /** Start `siva export` on the big run and SIGKILL it once the merged output's staging folder has a file in it. */
  async function killMidMerge(exportsDir: string, args: string[]): Promise<void> {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'export', bigRun, ...args, '--svd-cache', join(bigRoot, 'cache'), '--quiet'], { cwd: repoRoot })
    const exitCode = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    let killed = false
    while (!killed) {
      const staging = existsSync(exportsDir) ? readdirSync(exportsDir).find((e) => e.startsWith('.merged.siva-export-')) : undefined
      if (staging && readdirSync(join(exportsDir, staging)).length > 0) {
        child.kill('SIGKILL')
        killed = true
      } else if (child.exitCode !== null) break
      else await new Promise((r) => setTimeout(r, 2))
    }
    await exitCode
    expect(killed).toBe(true)
  }

  it('a merged export killed midway leaves no output folder, and the next export cleans up and succeeds', async () => {
    const exportsDir = join(bigRoot, 'exports')
    const outDir = join(exportsDir, 'merged')
    await killMidMerge(exportsDir, ['--merged', outDir])
    expect(existsSync(outDir)).toBe(false)

    const again = siva(['--merged', outDir, '--json'])
    expect(again.stderr).toBe('')
    expect(again.status).toBe(0)
    const result = JSON.parse(again.stdout as string) as { checkpoint: { step: number }; outputs: { kind: string; dir: string; bytes: number; files: string[] }[] }
    expect(result.checkpoint.step).toBe(1)
    expect(result.outputs[0]).toMatchObject({ kind: 'merged', dir: outDir, files: ['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json', 'README.md'] })
    expect(result.outputs[0]!.bytes).toBeGreaterThan(600_000 * 32 * 4)
    // The killed export's staging folder is gone: only the finished folder is left.
    expect(readdirSync(exportsDir)).toEqual(['merged'])
  }, 180_000)

  it('a forced multi-output export killed midway: a rerun without --force is refused but removes the leftovers; the earlier export stays whole', async () => {
    const exportsDir = join(bigRoot, 'exports-forced')
    const args = ['--merged', join(exportsDir, 'merged'), '--adapter', join(exportsDir, 'adapter')]
    expect(siva(args).status).toBe(0)
    const before = bytesOf(join(exportsDir, 'merged', 'model.safetensors'))
    await killMidMerge(exportsDir, [...args, '--force'])
    expect(readdirSync(exportsDir).filter((e) => e.includes('.siva-export-'))).toHaveLength(1)

    const refused = siva(args)
    expect(refused.status).toBe(1)
    expect(refused.stderr).toContain(`${join(exportsDir, 'merged')}: already exists; choose a new folder or pass --force to replace it`)
    expect(readdirSync(exportsDir).sort()).toEqual(['adapter', 'merged'])
    expect(bytesOf(join(exportsDir, 'merged', 'model.safetensors')).equals(before)).toBe(true)

    expect(siva([...args, '--force']).status).toBe(0)
    expect(readdirSync(exportsDir).sort()).toEqual(['adapter', 'merged'])
  }, 240_000)

  it('refuses bad requests with usage errors', () => {
    const run = (args: string[]): { status: number | null; stderr: string } => spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'export', ...args], { cwd: repoRoot, encoding: 'utf8' })
    expect(run(['/nowhere'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/say what to export: --merged, --adapter, --peft-lora and\/or --report DIR/) })
    expect(run(['/nowhere', '--merged', '/tmp/x', '--checkpoint', 'newest'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/--checkpoint must be best, last or a step number, got 'newest'/) })
    expect(run(['/nowhere', '--report', '/tmp/siva-never'])).toMatchObject({ status: 1, stderr: expect.stringMatching(/\/nowhere: not a run folder/) })
  })
})

describe('export: what transformers needs for other heads and layouts', () => {
  it('a bare BertModel checkpoint given a head: every tensor takes the bert. prefix, bytes unchanged', async () => {
    const root = tempDir('export-bare')
    const model = join(root, 'bare-bert')
    tinyBertWithTokenizer(model)
    const source = await openSafetensors(join(model, 'model.safetensors'))
    const tensors = await Promise.all(source.tensors.filter((t) => !t.name.startsWith('classifier.')).map(async (t) => ({ name: t.name.replace(/^bert\./, ''), dtype: t.dtype, shape: t.shape, data: new Uint8Array(await source.readRaw(t.name)) })))
    await source.close()
    await writeSafetensors(join(model, 'model.safetensors'), tensors, { format: 'pt' })
    const config = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')) as Record<string, unknown>
    delete config['id2label']
    delete config['label2id']
    writeFileSync(join(model, 'config.json'), JSON.stringify({ ...config, architectures: ['BertModel'] }, null, 2))
    const runDir = join(root, 'run')
    await train(defaultTrainConfig({ model, data: sentimentCsv(join(root, 's.csv'), 32), task: 'classify', method: 'siva', maxSteps: 2, batchSize: 8, lr: 0.1, seed: 1, backend: 'wasm' }), runDir)
    const merged = join(root, 'merged')
    const adapter = join(root, 'adapter')
    await exportAll({ runDir, outputs: { merged, adapter } })
    const checked = numpyCheck({ base: model, merged, adapter })
    expectSivaMerge(checked, { head: true })
    const file = await openSafetensors(join(merged, 'model.safetensors'))
    expect(file.tensors.map((t) => t.name)).toEqual([...tensors.map((t) => `bert.${t.name}`), 'classifier.weight', 'classifier.bias'])
    await file.close()
    expect((JSON.parse(readFileSync(join(merged, 'config.json'), 'utf8')) as { architectures: string[] }).architectures).toEqual(['BertForSequenceClassification'])
  }, 120_000)

  it('GPT-2 classification: a score head, GPT2ForSequenceClassification, and a pad id to batch with', async () => {
    const model = join(models, 'tiny-random-gpt2')
    const { runDir, merged, adapter, peft } = await trainAndExport('export-gpt2-cls', defaultTrainConfig({ model, data: join(samples, 'brown-genres.jsonl'), task: 'classify', method: 'siva', maxSteps: 2, batchSize: 4, maxLength: 32, seed: 1, backend: 'wasm' }))
    const checked = numpyCheck({ base: model, merged, adapter, peft })
    expectSivaMerge(checked, { head: true })
    expect(Object.keys(checked.head)).toEqual(['score.weight'])
    expect(checked.peft!.config).toMatchObject({ task_type: 'SEQ_CLS', modules_to_save: ['score'], fan_in_fan_out: true })
    const config = JSON.parse(readFileSync(join(merged, 'config.json'), 'utf8')) as Record<string, unknown>
    const labels = (JSON.parse(readFileSync(join(runDir, 'data', 'labels.json'), 'utf8')) as { id2label: Record<string, string> }).id2label
    expect(config).toMatchObject({ architectures: ['GPT2ForSequenceClassification'], num_labels: Object.keys(labels).length, id2label: labels, problem_type: 'single_label_classification', pad_token_id: 98 })
  }, 120_000)

  it('ViT image classification: ViTForImageClassification with the classes, and the preprocessor config copied', async () => {
    const model = join(models, 'tiny-vit')
    const { merged, adapter } = await trainAndExport('export-vit', defaultTrainConfig({ model, data: join(repoRoot, 'tests/fixtures/data/images/digits'), task: 'image-classify', method: 'siva', maxSteps: 2, batchSize: 4, validationFraction: 0.34, seed: 1, backend: 'wasm' }), { peft: false })
    expectSivaMerge(numpyCheck({ base: model, merged, adapter }), { head: true })
    const config = JSON.parse(readFileSync(join(merged, 'config.json'), 'utf8')) as Record<string, unknown>
    expect(config).toMatchObject({ architectures: ['ViTForImageClassification'], num_labels: 3, id2label: { 0: '0', 1: '1', 2: '2' }, problem_type: 'single_label_classification' })
    expect(bytesOf(join(merged, 'preprocessor_config.json')).equals(bytesOf(join(model, 'preprocessor_config.json')))).toBe(true)
  }, 120_000)
})
