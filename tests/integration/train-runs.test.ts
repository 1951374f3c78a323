import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { exportRun } from '../../src/main/engine/export/exportRun'
import { restoreRun } from '../../src/main/engine/export/restoreRun'
import { openSafetensors, writeSafetensors } from '../../src/main/engine/io'
import { svd } from '../../src/main/engine/linalg'
import type { Decompose } from '../../src/main/engine/peft'
import { defaultTrainConfig, TrainControl, trainRun } from '../../src/main/engine/training/loop'
import { readCheckpoint } from '../../src/main/engine/training/runFolder'
import type { TrainConfig, TrainEvent } from '../../src/shared/training'
import { inProcessDecompose as decompose } from '../helpers/decompose'
import { tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'

// Runs that must not lose what they trained: the best step, the last finite checkpoint, the band's basis.
let model: string
let data: string
beforeAll(() => {
  const dir = tempDir('train-runs')
  model = tinyBertWithTokenizer(join(dir, 'tiny-bert'))
  data = sentimentCsv(join(dir, 'sentiment.csv'), 48)
})

async function run(config: TrainConfig | { resume: true }, runDir: string): Promise<TrainEvent[]> {
  const events: TrainEvent[] = []
  for await (const event of trainRun(config, runDir, { decompose })) events.push(event)
  return events
}

/** Events up to a failure, and the failure. */
async function runToError(config: TrainConfig, runDir: string): Promise<{ events: TrainEvent[]; error: Error }> {
  const events: TrainEvent[] = []
  try {
    for await (const event of trainRun(config, runDir, { decompose })) events.push(event)
  } catch (error) {
    return { events, error: error as Error }
  }
  throw new Error('the run did not fail')
}

const base = (): TrainConfig => defaultTrainConfig({ model, data, task: 'classify', method: 'siva', epochs: 1, batchSize: 4, seed: 4, backend: 'wasm', spectraEvery: 0 })

describe('the best step', () => {
  it('is kept besides the last checkpoints and exported by --checkpoint best, δ for δ', async () => {
    const dir = tempDir('train-best')
    const runDir = join(dir, 'run')
    const events = await run({ ...base(), maxSteps: 10, lr: 0.3, headLr: 0.05, evalEvery: 2, checkpointEvery: 1000 }, runDir)
    const evals = events.filter((e) => e.type === 'eval') as Extract<TrainEvent, { type: 'eval' }>[]
    const best = evals.filter((e) => e.best).at(-1)!
    expect(evals.length).toBeGreaterThanOrEqual(3)
    // The case that lost it: the best evaluation is not the last, and no regular checkpoint fell on it.
    expect(best.step).not.toBe(evals.at(-1)!.step)
    const stored = await readCheckpoint(runDir, best.step)
    expect(stored?.state.step).toBe(best.step)
    expect(JSON.parse(readFileSync(join(runDir, 'checkpoints', 'best.json'), 'utf8'))).toMatchObject({ step: best.step })
    expect(events.at(-1)).toMatchObject({ type: 'finished', best: { step: best.step } })

    for (const checkpoint of ['best', undefined] as const) {
      const out = join(dir, `adapter-${checkpoint ?? 'default'}`)
      const result = await exportRun({ runDir, ...(checkpoint && { checkpoint }), outputs: { adapter: out } }, { decompose })
      expect(result.checkpoint.step).toBe(best.step)
      const file = await openSafetensors(join(out, 'adapter.safetensors'))
      const deltas = file.tensors.filter((t) => t.name.endsWith('.delta'))
      expect(deltas).toHaveLength(4)
      // The loop saves the adapters' δ first, in target order.
      for (const [i, t] of deltas.entries()) expect(Array.from(await file.readFloat64(t.name))).toEqual(Array.from(stored!.tensors.variables[i]!.values))
      await file.close()
    }
    // Older non-best checkpoints are rotated away; the best and the last two stay.
    const kept = readdirSync(join(runDir, 'checkpoints')).filter((e) => e.startsWith('step-'))
    expect(kept).toContain(stored!.name)
    expect(kept.length).toBeLessThanOrEqual(3)

    // A run from before (no best.json, the best step not kept) is told apart from one never evaluated.
    rmSync(join(runDir, 'checkpoints', 'best.json'))
    rmSync(join(runDir, 'checkpoints', stored!.name), { recursive: true })
    await expect(exportRun({ runDir, checkpoint: 'best', outputs: { adapter: join(dir, 'never') } }, { decompose })).rejects.toThrow(
      new RegExp(`no best checkpoint: ${evals.length} evaluations ran, the best at step ${best.step}, but that step's checkpoint was not kept`)
    )
  }, 120_000)
})

describe('leftovers of a killed trainer', () => {
  it('a resume removes the temp files the dead trainer left in the run folder', async () => {
    const runDir = join(tempDir('train-leftovers'), 'run')
    const control = new TrainControl()
    for await (const event of trainRun({ ...base(), maxSteps: 4, checkpointEvery: 2 }, runDir, { decompose, control })) if (event.type === 'step' && event.step === 2) control.cancel()
    // What a trainer killed while encoding, checkpointing or writing run files leaves (pid 2147483646: none such).
    const leftovers = [join(runDir, 'data', '.train.ids.2147483646.0a1b2c3d.tmp'), join(runDir, 'data', '.train.index.2147483646.0a1b2c3d.tmp'), join(runDir, '.run.json.2147483646.0a1b2c3d.tmp')]
    for (const file of leftovers) writeFileSync(file, 'partial')
    mkdirSync(join(runDir, 'checkpoints', '.step-0000003.0a1b2c3d.tmp'))
    // An export into the run folder, still being written by a live process: not the trainer's to remove.
    const staging = join(runDir, `.adapter.siva-export-${process.pid}-0a1b2c3d.tmp`)
    mkdirSync(staging)
    const events = await run({ resume: true }, runDir)
    expect(events.at(-1)!.type).toBe('finished')
    for (const file of [...leftovers, join(runDir, 'checkpoints', '.step-0000003.0a1b2c3d.tmp')]) expect(existsSync(file)).toBe(false)
    expect(existsSync(staging)).toBe(true)
  }, 120_000)
})

describe('a run that turns NaN or ∞', () => {
  it('stops at the step whose loss is not finite, with an error event, the last finite checkpoint kept', async () => {
    const dir = tempDir('train-nan-loss')
    // Regression targets of about 1: one row's 1e30 squares past float32's range, so its batch's loss is ∞.
    const rows = Array.from({ length: 24 }, (_, i) => `${['great', 'fine', 'poor'][i % 3]} item ${i},${i === 13 ? '1e30' : [4.5, 2.5, 0.5][i % 3]}`)
    writeFileSync(join(dir, 'train.csv'), `text,label\n${rows.join('\n')}\n`)
    writeFileSync(join(dir, 'validation.csv'), 'text,label\ngreat item,4.5\npoor item,0.5\n')
    const runDir = join(dir, 'run')
    const { events, error } = await runToError({ ...base(), task: 'regress', data: join(dir, 'train.csv'), validation: join(dir, 'validation.csv'), checkpointEvery: 1 }, runDir)
    const steps = events.filter((e) => e.type === 'step') as Extract<TrainEvent, { type: 'step' }>[]
    const stopped = steps.length + 1
    // Not the first step, so there is a finite checkpoint to keep.
    expect(steps.length).toBeGreaterThan(0)
    expect(error.message).toMatch(new RegExp(`^training stopped at step ${stopped}: the loss is (NaN|Infinity); the last finite checkpoint, step-0*${steps.length}, is kept`))
    expect(events.at(-1)).toMatchObject({ type: 'error', step: stopped, message: error.message })
    expect(events.some((e) => e.type === 'finished')).toBe(false)
    // latest.json points at a checkpoint whose every value is finite, and none was written for the step that failed.
    const latest = (await readCheckpoint(runDir))!
    expect(latest.state.step).toBe(steps.length)
    for (const v of latest.tensors.variables) expect(v.values.every(Number.isFinite)).toBe(true)
    expect(readdirSync(join(runDir, 'checkpoints')).filter((e) => e.startsWith('step-')).every((name) => Number(name.slice(5)) < stopped)).toBe(true)
  }, 120_000)

  it('never writes a checkpoint holding NaN or ∞: the variable is named', async () => {
    const runDir = join(tempDir('train-nan-weights'), 'run')
    // 1e39 is ∞ in float32: the first update sends δ to ∞ while the loss of that step was still finite.
    const { events, error } = await runToError({ ...base(), lr: 1e39, schedule: 'constant', warmupRatio: 0, checkpointEvery: 1 }, runDir)
    expect(error.message).toMatch(/^training stopped at step 1: bert\.encoder\.layer\.0\.attention\.self\.query \(siva δ\) holds (NaN|Infinity|-Infinity) \(at index \d\); the checkpoint was not written/)
    expect(events.filter((e) => e.type === 'checkpoint')).toHaveLength(0)
    expect(existsSync(join(runDir, 'checkpoints', 'latest.json'))).toBe(false)
    expect(events.at(-1)).toMatchObject({ type: 'error', step: 1 })
  }, 120_000)
})

describe("the band's singular vectors", () => {
  const query = 'bert.encoder.layer.0.attention.self.query'
  let clustered: string
  beforeAll(async () => {
    // tiny-bert with one target whose σ₂₉ = σ₃₀: the edge of SiVA's band [29, 32) (k = 3 of 32) falls in
    // the cluster, where an SVD may return any basis of the two directions.
    clustered = tinyBertWithTokenizer(join(tempDir('train-basis-model'), 'tiny-bert'))
    await rewriteWeight(clustered, `${query}.weight`, (w) => {
      const { s, u, vt } = svd(w, 32, 32)
      const mean = (s[28]! + s[29]!) / 2
      s[28] = s[29] = mean
      return product(u!, s, vt!, 32)
    })
  })

  /** A valid SVD of the same matrix as far as float32 can tell: vectors 28 and 29 (σ equal) turned by 45°. */
  const rotated: Decompose = async (weights) => {
    const svd = await decompose(weights)
    if (weights.target.name !== query) return svd
    const r = svd.s.length
    const { outFeatures: m, inFeatures: n } = weights.target
    const c = Math.SQRT1_2
    const u = Float64Array.from(svd.u)
    const vt = Float64Array.from(svd.vt)
    for (let i = 0; i < m; i++) [u[i * r + 28], u[i * r + 29]] = [c * svd.u[i * r + 28]! - c * svd.u[i * r + 29]!, c * svd.u[i * r + 28]! + c * svd.u[i * r + 29]!]
    for (let j = 0; j < n; j++) [vt[28 * n + j], vt[29 * n + j]] = [c * svd.vt[28 * n + j]! - c * svd.vt[29 * n + j]!, c * svd.vt[28 * n + j]! + c * svd.vt[29 * n + j]!]
    return { s: svd.s, u, vt }
  }

  const config = (): TrainConfig => ({ ...base(), model: clustered, maxSteps: 6, lr: 0.1, checkpointEvery: 3 })

  it('are stored with the run: a resume and an export on another SVD put δ back on the same directions', async () => {
    const dir = tempDir('train-basis')
    const straight: TrainEvent[] = []
    for await (const event of trainRun(config(), join(dir, 'straight'), { decompose })) straight.push(event)
    const prepared = straight.find((e) => e.type === 'prepared') as Extract<TrainEvent, { type: 'prepared' }>
    expect(prepared.warnings).toHaveLength(1)
    expect(prepared.warnings![0]).toMatch(new RegExp(`^${query.replace(/\./g, '\\.')}: the band's edge falls in a cluster of singular values \\(σ29 = .* outside, σ30 = .* inside`))

    const stopped = join(dir, 'stopped')
    const control = new TrainControl()
    for await (const event of trainRun(config(), stopped, { decompose, control })) if (event.type === 'step' && event.step === 3) control.cancel()
    // The resume's SVD (a cleared cache, another kernel) returns the other basis of the cluster.
    for await (const event of trainRun({ resume: true }, stopped, { decompose: rotated })) void event
    const a = (await readCheckpoint(join(dir, 'straight')))!
    const b = (await readCheckpoint(stopped))!
    expect(b.state.step).toBe(6)
    a.tensors.variables.forEach((v, i) => v.values.forEach((x, j) => expect(Math.abs(x - b.tensors.variables[i]!.values[j]!)).toBeLessThanOrEqual(1e-6)))

    // Export through either SVD: the same ΔW, the one trained.
    const deltaWeight = async (d: Decompose): Promise<Float64Array> => {
      const restored = await restoreRun(stopped, 'last', d)
      try {
        return await restored.adapters.find((x) => x.target.name === query)!.deltaWeight()
      } finally {
        await restored.close()
      }
    }
    const plain = await deltaWeight(decompose)
    const other = await deltaWeight(rotated)
    expect(Math.max(...plain.map(Math.abs))).toBeGreaterThan(1e-4)
    plain.forEach((x, i) => expect(Math.abs(x - other[i]!)).toBeLessThanOrEqual(1e-12))
  }, 120_000)

  it('where only their hashes are kept, another SVD is refused naming the target; a changed weight always is', async () => {
    const dir = tempDir('train-basis-hash')
    const runDir = join(dir, 'run')
    for await (const event of trainRun(config(), runDir, { decompose })) void event
    // What a run above the size limit keeps: the hashes, no vectors.
    const document = JSON.parse(readFileSync(join(runDir, 'basis.json'), 'utf8')) as { stored: boolean }
    expect(document.stored).toBe(true)
    writeFileSync(join(runDir, 'basis.json'), JSON.stringify({ ...document, stored: false }))
    rmSync(join(runDir, 'basis.safetensors'))
    const restored = await restoreRun(runDir, 'last', decompose)
    await restored.close()
    await expect(restoreRun(runDir, 'last', rotated)).rejects.toThrow(`${query}: the SVD now gives other singular vectors for the trained band [29, 32) than the run trained on`)
    await rewriteWeight(clustered, `${query}.weight`, (w) => w.map((x, i) => (i === 0 ? x + 1e-3 : x)))
    await expect(restoreRun(runDir, 'last', decompose)).rejects.toThrow(`${query}: the base weight is not the one this run trained on`)
  }, 120_000)
})

/** Replace one tensor of a model folder's model.safetensors (float32), keeping the others and their order. */
async function rewriteWeight(modelDir: string, name: string, change: (values: Float64Array) => Float64Array): Promise<void> {
  const path = join(modelDir, 'model.safetensors')
  const file = await openSafetensors(path)
  const tensors = []
  for (const t of file.tensors) {
    const values = await file.readFloat64(t.name)
    tensors.push({ name: t.name, dtype: 'F32' as const, shape: [...t.shape], data: Float32Array.from(t.name === name ? change(values) : values) })
  }
  await file.close()
  await writeSafetensors(path, tensors)
}

/** U diag(s) Vᵀ for square r×r factors. */
function product(u: Float64Array, s: Float64Array, vt: Float64Array, r: number): Float64Array {
  const out = new Float64Array(r * r)
  for (let i = 0; i < r; i++) for (let k = 0; k < r; k++) for (let j = 0; j < r; j++) out[i * r + j] += u[i * r + k]! * s[k]! * vt[k * r + j]!
  return out
}
