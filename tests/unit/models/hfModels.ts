/**
 * What the model-family suites share: the real transformers as the reference (tests/reference/hf_models.py on
 * hfref's fixtures), the batches its inputs make, head and adapter files for it, and error measures.
 */
import * as tf from '@tensorflow/tfjs'
import { copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'vitest'
import { openCheckpoint, writeSafetensors, type TensorSource, type TensorToWrite } from '../../../src/main/engine/io'
import { readLinear, seededNormal } from '../../../src/main/engine/models/ops'
import { lossOf, taskLoss } from '../../../src/main/engine/models/loss'
import type { AdaptableLinear, BuiltModel, LinearFn, ModelInputs, ModelTask } from '../../../src/main/engine/models/types'
import { adaptTargets, methods, type Adapter, type MethodName } from '../../../src/main/engine/peft'
import { inProcessDecompose } from '../../helpers/decompose'
import { hfFixture, hfReference } from '../../helpers/hfref'
import { tempDir } from '../../helpers/paths'

/** An array as hf_models.py passes it: its shape and its values, row-major. */
export interface Flat {
  shape: number[]
  values: number[]
}

/** One forward pass of transformers' class for the task (hf_models.py's "forward" job; see that file). */
export interface ForwardJob {
  model: string
  task: ModelTask
  input_ids?: number[][]
  attention_mask?: number[][]
  token_type_ids?: number[][]
  pixel_values?: Flat
  labels?: number[] | number[][]
  num_labels?: number
  config?: Record<string, unknown>
  head_file?: string
  adapters?: string
  method?: 'band' | 'siva' | 'topk' | 'svdiff' | 'lora'
  scaling?: number
  param_grads?: string[]
  dtype?: 'float64' | 'float32'
}

export interface ForwardResult {
  class: string
  dtype: string
  problem_type: string
  loading_info: { missing_keys: string[]; unexpected_keys: string[]; mismatched_keys: string[] }
  logits: Flat
  loss?: number
  /** d loss / d each trainable adapter tensor, by its name in the adapters file (`<target>.delta`, `.lora_A`, `.lora_B`). */
  grads?: Record<string, number[]>
  param_grads?: Record<string, number[]>
}

/** transformers' answers to the jobs, in order, from one python process (its start costs seconds; each job milliseconds). */
export function transformersReference(jobs: ForwardJob[]): ForwardResult[] {
  const { results } = hfReference<{ results: ForwardResult[] }>('hf_models.py', [], { jobs: jobs.map((job) => ({ kind: 'forward', ...job })) })
  return results
}

/** An hfref fixture: its folder, reference.npz's arrays (the inputs transformers made, the logits it gave) and fixture.json. */
export function hfFixtureData(name: string): { dir: string; arrays: Record<string, Flat>; fixture: Record<string, unknown> } {
  const dir = hfFixture(name)
  const { results } = hfReference<{ results: { arrays: Record<string, Flat>; fixture: Record<string, unknown> }[] }>('hf_models.py', [], { jobs: [{ kind: 'fixture', model: dir }] })
  return { dir, ...results[0]! }
}

/** Rows of a [batch, length] array. */
export function rowsOf(flat: Flat): number[][] {
  const [batch, length] = flat.shape as [number, number]
  return Array.from({ length: batch }, (_, r) => flat.values.slice(r * length, (r + 1) * length))
}

/** A text batch, with its rows kept for the reference. */
export interface TextBatch extends ModelInputs {
  length: number
  rows: number[][]
  maskRows: number[][]
  typeRows?: number[][]
}

/** A batch of given rows (all the same length) and masks. */
export function textBatch(rows: number[][], maskRows: number[][], typeRows?: number[][]): TextBatch {
  return {
    batchSize: rows.length,
    length: rows[0]!.length,
    inputIds: Int32Array.from(rows.flat()),
    attentionMask: Int32Array.from(maskRows.flat()),
    tokenTypeIds: typeRows ? Int32Array.from(typeRows.flat()) : undefined,
    rows,
    maskRows,
    typeRows
  }
}

/** A batch from rows of ids: shorter rows are padded on the right with `pad` and masked. */
export function paddedBatch(rows: number[][], pad: number, typeRows?: number[][]): TextBatch {
  const length = Math.max(...rows.map((r) => r.length))
  const fill = (r: number[], value: number): number[] => [...r, ...Array<number>(length - r.length).fill(value)]
  return textBatch(
    rows.map((r) => fill(r, pad)),
    rows.map((r) => fill(Array<number>(r.length).fill(1), 0)),
    typeRows?.map((r) => fill(r, 0))
  )
}

/** The fixture's text inputs (transformers' tokenizer, right-padded) as a batch. */
export function fixtureTextBatch(arrays: Record<string, Flat>): TextBatch {
  return textBatch(rowsOf(arrays.input_ids!), rowsOf(arrays.attention_mask!), arrays.token_type_ids && rowsOf(arrays.token_type_ids))
}

/** A text batch as the reference takes it. */
export function textJob(batch: TextBatch): Pick<ForwardJob, 'input_ids' | 'attention_mask' | 'token_type_ids'> {
  return { input_ids: batch.rows, attention_mask: batch.maskRows, token_type_ids: batch.typeRows }
}

/** Largest absolute difference between two equally long arrays. */
export function maxAbsDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length)
  let max = 0
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!))
  return max
}

/** Largest difference relative to the largest reference magnitude. */
export function relativeDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 0
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!))
  expect(scale).toBeGreaterThan(0)
  return maxAbsDifference(actual, expected) / scale
}

/** Logits of one forward pass as plain numbers, with no tensor left behind. */
export function logitsOf(model: BuiltModel, inputs: ModelInputs): Float32Array {
  const logits = tf.tidy(() => model.forward(inputs))
  const values = logits.dataSync() as Float32Array
  logits.dispose()
  return values
}

/** The head's variables under their export names (transformers' names), for the reference to load. */
export async function writeHead(model: BuiltModel, file: string): Promise<string> {
  await writeSafetensors(
    file,
    model.headVariables.map((variable, i) => ({ name: model.head.tensors[i]!, dtype: 'F32' as const, shape: variable.shape, data: variable.dataSync() as Float32Array }))
  )
  return file
}

/** A copy of a checkpoint (one file) with tensors renamed or (undefined) left out, `extra` ones added, and its config.json. */
export async function rewriteCheckpoint(dir: string, prefix: string, change: (name: string) => string | undefined, extra: TensorToWrite[] = []): Promise<string> {
  const source = await openCheckpoint(dir)
  const out = tempDir(prefix)
  const tensors: TensorToWrite[] = [...extra]
  for (const info of source.tensors) {
    const name = change(info.name)
    if (name !== undefined) tensors.push({ name, dtype: info.dtype, shape: info.shape, data: await source.readRaw(info.name) })
  }
  await writeSafetensors(join(out, 'model.safetensors'), tensors, source.metadata)
  await source.close()
  await copyFile(join(dir, 'config.json'), join(out, 'config.json'))
  return out
}

/** Columns of a seeded normal [rows, k] matrix made orthonormal (Gram–Schmidt): what SiVA's U_b and V_b look like. */
export function orthonormalColumns(rows: number, k: number, seed: number): Float32Array {
  const values = Float64Array.from(seededNormal(rows * k, 1, seed))
  for (let j = 0; j < k; j++) {
    for (let p = 0; p < j; p++) {
      let dot = 0
      for (let i = 0; i < rows; i++) dot += values[i * k + j]! * values[i * k + p]!
      for (let i = 0; i < rows; i++) values[i * k + j]! -= dot * values[i * k + p]!
    }
    let norm = 0
    for (let i = 0; i < rows; i++) norm += values[i * k + j]! ** 2
    for (let i = 0; i < rows; i++) values[i * k + j]! /= Math.sqrt(norm)
  }
  return Float32Array.from(values)
}

/** Adapted projections, their trainable variables by adapter-file tensor name, and what to free. */
export interface TestAdapters {
  linears: Map<string, LinearFn>
  /** `<target>.delta` → δ (band adapters); the engine's methods add `.lora_A` / `.lora_B` (as Aᵀ, Bᵀ). */
  variables: Map<string, tf.Variable>
  dispose: () => void
}

/**
 * The contract alone, without any method of engine/peft: on each target y = x Wᵀ + b + ((x V) ⊙ δ) Uᵀ with
 * U [out, k], V [in, k] seeded orthonormal columns and δ a variable of nonzero values `scale`·(1, −2, 3, …);
 * written as `<target>.U/.V/.delta` to `file` (hf_models.py's method "band").
 */
export async function bandAdapters(source: TensorSource, targets: AdaptableLinear[], k: number, file: string, scale: number): Promise<TestAdapters> {
  const linears = new Map<string, LinearFn>()
  const variables = new Map<string, tf.Variable>()
  const owned: tf.Tensor[] = []
  const toWrite: TensorToWrite[] = []
  for (const [t, target] of targets.entries()) {
    const { weightT, bias, inFeatures, outFeatures } = await readLinear(source, target)
    const u = orthonormalColumns(outFeatures, k, 11 + t)
    const v = orthonormalColumns(inFeatures, k, 23 + t)
    const delta = Float32Array.from({ length: k }, (_, i) => scale * (i + 1) * (i % 2 === 0 ? 1 : -1))
    const wT = tf.tensor2d(weightT, [inFeatures, outFeatures])
    const b = bias && tf.tensor1d(bias)
    const uT = tf.tidy(() => tf.transpose(tf.tensor2d(u, [outFeatures, k])))
    const vMatrix = tf.tensor2d(v, [inFeatures, k])
    const d = tf.variable(tf.tensor1d(delta), true)
    owned.push(wT, uT, vMatrix, d, ...(b ? [b] : []))
    variables.set(`${target.name}.delta`, d)
    linears.set(target.name, (x) => {
      const y = tf.add(tf.matMul(x, wT), tf.matMul(tf.mul(tf.matMul(x, vMatrix), d), uT)) as tf.Tensor2D
      return b ? tf.add(y, b) : y
    })
    toWrite.push(
      { name: `${target.name}.U`, dtype: 'F32', shape: [outFeatures, k], data: u },
      { name: `${target.name}.V`, dtype: 'F32', shape: [inFeatures, k], data: v },
      { name: `${target.name}.delta`, dtype: 'F32', shape: [k], data: delta }
    )
  }
  await writeSafetensors(file, toWrite)
  return { linears, variables, dispose: () => tf.dispose(owned) }
}

/** The adapter methods of engine/peft that the reference recomputes (full and head add no adapter). */
export const adapterMethods = ['siva', 'svdiff', 'topk', 'lora'] as const satisfies readonly MethodName[]

/**
 * engine/peft's own method on each target (SVDs in process), its variables moved off their zero start to
 * seeded values so that every gradient means something, and its stored parameters (δ, or LoRA's A and B in
 * PEFT's layout) written to `file` for the reference, which takes its own SVD of the weight transformers
 * loaded. Returns the job fields that tell hf_models.py the method.
 */
export async function methodAdapters(
  source: TensorSource,
  targets: AdaptableLinear[],
  method: (typeof adapterMethods)[number],
  file: string
): Promise<TestAdapters & { job: Pick<ForwardJob, 'adapters' | 'method' | 'scaling'> }> {
  const rank = 3
  const alpha = 6
  const { adapters, linears } = await adaptTargets(source, targets, methods[method], { k: 3, rank, alpha, seed: 5, decompose: inProcessDecompose })
  const variables = new Map<string, tf.Variable>()
  const toWrite: TensorToWrite[] = []
  for (const [a, adapter] of adapters.entries()) {
    for (const [v, variable] of adapter.variables.entries()) {
      const scale = method === 'lora' ? 0.3 : 0.1
      variable.assign(tf.tensor(seededNormal(variable.size, scale, 31 + 7 * a + v), variable.shape))
    }
    const stored = await adapter.stored()
    const trainable = stored.tensors.filter((t) => !t.derived)
    expect(trainable.map((t) => t.name)).toEqual(method === 'lora' ? ['lora_A', 'lora_B'] : ['delta'])
    for (const [v, tensor] of trainable.entries()) {
      const name = `${adapter.target.name}.${tensor.name}`
      variables.set(name, adapter.variables[v]!)
      toWrite.push({ name, dtype: 'F32', shape: tensor.shape, data: Float32Array.from(tensor.values) })
    }
  }
  await writeSafetensors(file, toWrite)
  return {
    linears,
    variables,
    dispose: () => adapters.forEach((adapter: Adapter) => adapter.dispose()),
    job: { adapters: file, method, ...(method === 'lora' && { scaling: alpha / rank }) }
  }
}

/**
 * The engine's gradient of a variable in the layout the reference reports it: LoRA's variables are Aᵀ [in, r]
 * and Bᵀ [r, out], PEFT's tensors A [r, in] and B [out, r]; everything else as it is.
 */
export function inReferenceLayout(name: string, gradient: tf.Tensor): Float32Array {
  return tf.tidy(() => (/\.lora_[AB]$/.test(name) ? tf.transpose(gradient) : gradient).dataSync() as Float32Array)
}

/** One model the engine built, the inputs and labels it is run on, and the reference job of the same thing. */
export interface ReferenceCase {
  model: BuiltModel
  inputs: ModelInputs
  task: ModelTask
  /** The engine's labels for taskLoss (made inside a tidy). */
  labels?: () => tf.Tensor
  job: ForwardJob
  adapters?: TestAdapters
}

/**
 * A suite's cases: gathered while building (beforeAll), answered by transformers in one python run, then
 * compared one by one. Owns the models and adapters it is given.
 */
export class ReferenceCases {
  private readonly cases = new Map<string, ReferenceCase>()
  private readonly results = new Map<string, ForwardResult>()

  constructor(private readonly family: string) {}

  add(name: string, entry: ReferenceCase): BuiltModel {
    expect(this.cases.has(name)).toBe(false)
    expect(entry.job.task).toBe(entry.task)
    if (entry.labels) expect(entry.job.labels).toBeDefined()
    this.cases.set(name, entry)
    return entry.model
  }

  run(): void {
    const answers = transformersReference([...this.cases.values()].map((entry) => entry.job))
    for (const [i, name] of [...this.cases.keys()].entries()) this.results.set(name, answers[i]!)
  }

  model(name: string): BuiltModel {
    return this.entry(name).model
  }

  result(name: string): ForwardResult {
    const result = this.results.get(name)
    if (!result) throw new Error(`no reference answer for ${name}: run() first`)
    return result
  }

  /** The engine's logits (and loss, with labels) against transformers'; `logits` is the largest absolute error allowed. */
  compare(name: string, tolerance: { logits: number; loss?: number }): ForwardResult {
    const { model, inputs, task, labels } = this.entry(name)
    const expected = this.result(name)
    const error = maxAbsDifference(logitsOf(model, inputs), expected.logits.values)
    let report = `${this.family} ${name}: logits max |Δ| ${error.toExponential(2)}`
    if (labels) {
      // Both ways the engine computes it: the model's own loss (a causal LM's chunked one, what training
      // runs) and the loss of the full logits.
      const loss = tf.tidy(() => lossOf(task, model, inputs, labels()).dataSync()[0]!)
      const fromLogits = tf.tidy(() => taskLoss(task, model.forward(inputs), labels()).dataSync()[0]!)
      const lossError = Math.abs(loss - expected.loss!)
      report += `, loss |Δ| ${lossError.toExponential(2)} (from the full logits ${Math.abs(fromLogits - expected.loss!).toExponential(2)})`
      expect(lossError, `${name} loss`).toBeLessThan(tolerance.loss ?? tolerance.logits)
      expect(Math.abs(fromLogits - expected.loss!), `${name} loss from the full logits`).toBeLessThan(tolerance.loss ?? tolerance.logits)
    }
    console.info(`${report} (${expected.class}, ${expected.dtype})`)
    expect(error, `${name} logits`).toBeLessThan(tolerance.logits)
    return expected
  }

  /**
   * d loss / d (each adapter variable, and the named head or base tensors) by tf.variableGrads against
   * transformers' torch.autograd.grad, each within `tolerance` of the largest reference magnitude; leaks nothing.
   */
  compareGradients(name: string, options: { tensors?: string[]; tolerance?: number; loss?: number } = {}): void {
    const { tensors = [], tolerance = 1e-4 } = options
    const { model, inputs, task, labels, adapters } = this.entry(name)
    const expected = this.result(name)
    const named = (tensor: string): tf.Variable => {
      const head = model.head.tensors.indexOf(tensor)
      const variable = head >= 0 ? model.headVariables[head] : model.baseVariables[model.baseTensors?.indexOf(tensor) ?? -1]
      if (!variable) throw new Error(`${name}: the model has no variable for ${tensor}`)
      return variable
    }
    const adapted = [...(adapters?.variables ?? new Map<string, tf.Variable>())]
    const watched = [...adapted.map(([, variable]) => variable), ...tensors.map(named)]
    const before = tf.memory().numTensors
    const { value, grads } = tf.variableGrads(() => lossOf(task, model, inputs, labels!()), watched)
    expect(Math.abs(value.dataSync()[0]! - expected.loss!), `${name} loss`).toBeLessThan(options.loss ?? 1e-4)
    expect(Object.keys(expected.grads ?? {}).sort()).toEqual(adapted.map(([tensor]) => tensor).sort())
    const checks: [string, Float32Array, number[]][] = [
      ...adapted.map(([tensor, variable]): [string, Float32Array, number[]] => [tensor, inReferenceLayout(tensor, grads[variable.name]!), expected.grads![tensor]!]),
      ...tensors.map((tensor, i): [string, Float32Array, number[]] => [tensor, grads[watched[adapted.length + i]!.name]!.dataSync() as Float32Array, expected.param_grads![tensor]!])
    ]
    for (const [tensor, actual, reference] of checks) {
      const error = relativeDifference(actual, reference)
      console.info(`${this.family} ${name} d loss/d ${tensor}: relative error ${error.toExponential(2)}`)
      expect(error, `${name} ${tensor}`).toBeLessThan(tolerance)
    }
    value.dispose()
    tf.dispose(Object.values(grads))
    expect(tf.memory().numTensors).toBe(before)
  }

  dispose(): void {
    for (const entry of this.cases.values()) {
      entry.model.dispose()
      entry.adapters?.dispose()
    }
  }

  private entry(name: string): ReferenceCase {
    const entry = this.cases.get(name)
    if (!entry) throw new Error(`no case ${name}`)
    return entry
  }
}
