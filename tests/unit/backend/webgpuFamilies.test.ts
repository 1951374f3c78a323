import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { installFastGelu } from '../../../src/main/engine/backend/fastGelu'
import { installFastMatMul } from '../../../src/main/engine/backend/fastMatMul'
import { installWasmKernels } from '../../../src/main/engine/backend/wasmKernels'
import { openCheckpoint } from '../../../src/main/engine/io'
import { families } from '../../../src/main/engine/models/registry'
import { taskLoss } from '../../../src/main/engine/models/loss'
import type { ModelFamily, ModelInputs, ModelTask } from '../../../src/main/engine/models/types'
import { adaptTargets, methodNamed, selectTargets } from '../../../src/main/engine/peft'
import { inProcessDecompose } from '../../helpers/decompose'
import { hfFixture, hfReference } from '../../helpers/hfref'
import { repoRoot, tempDir, tinyGpt2 } from '../../helpers/paths'
import { useSoftwareVulkan } from '../../helpers/softwareVulkan'
import { useModelDir } from '../../helpers/useGraph'

// Dawn reads the Vulkan loader's variables when it starts: they must be set before selectBackend('webgpu').
// No GPU here or in CI, so the WebGPU side runs on SwiftShader (Chromium's software Vulkan driver).
useSoftwareVulkan()

/**
 * Every model family the engine trains, with SiVA on its default targets, run once on the wasm backend (as
 * training runs it: our matmul, GELU and copy-free kernels) and once on webgpu, in one process from the
 * same checkpoint and inputs: logits, loss and the gradient of the loss with respect to every δ and every
 * head variable must agree to float32 tolerance. Tensors do not move between backends, so each side
 * builds its own model.
 *
 * Tolerance: max |webgpu − wasm| ≤ 5e-5 × max |wasm| per tensor. Both sides compute in float32 (ε ≈ 1.2e-7)
 * but sum in different orders (tiled WGSL matmuls, the wasm gemm's panels) and exp/tanh differ in their
 * last bits; through the layers, softmax and the backward pass that grows to 0.8–6e-6 relative (measured on
 * SwiftShader, 2026-12-01), so 5e-5 leaves room and still catches a real difference: WGSL's sin/cos (2⁻¹¹
 * absolute) in the sentence encoder's timing signal put it 7e-4 away before that signal moved to the CPU.
 */
const tolerance = 5e-5

interface Case {
  modelType: string
  dir: string
  task: ModelTask
  numLabels?: number
  inputs: ModelInputs
  labels: () => tf.Tensor
}

let mistralDir: string | undefined

/** A tiny Mistral (sliding window 3, one key/value head, head_dim 12) written by the real save_pretrained, made when first read. */
function mistralCheckpoint(): string {
  if (mistralDir === undefined) {
    const dir = tempDir('webgpu-mistral')
    const config = { model_type: 'mistral', vocab_size: 1064, hidden_size: 32, intermediate_size: 37, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 1, head_dim: 12, sliding_window: 3 }
    hfReference('hf_decoder.py', [], { jobs: [{ kind: 'save', out: dir, config, class: 'causal-lm', seed: 3 }] })
    mistralDir = dir
  }
  return mistralDir
}

function ids(rows: number[][], mask?: number[][]): ModelInputs {
  const length = rows[0]!.length
  return {
    batchSize: rows.length,
    length,
    inputIds: Int32Array.from(rows.flat()),
    attentionMask: Int32Array.from((mask ?? rows.map((r) => r.map(() => 1))).flat()),
    // Dropout on: training's path, with masks drawn from this seed (tfjs draws them on the CPU, so both backends get the same).
    dropoutSeed: 7
  }
}

function seededPixels(count: number): Float32Array {
  let state = 12345
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 4294967296 * 2 - 1
  })
}

const gptRows = [
  [5, 17, 300, 999, 42, 8],
  [77, 1, 2, 3, 500, 98]
]
const cases: Case[] = [
  { modelType: 'gpt2', dir: tinyGpt2, task: 'causal-lm', inputs: ids(gptRows), labels: () => tf.tensor2d(gptRows, undefined, 'int32') },
  {
    modelType: 'bert',
    dir: join(repoRoot, 'tests/fixtures/models/tiny-bert'),
    task: 'classification',
    numLabels: 3,
    inputs: ids([[2, 15, 33, 90, 3], [2, 7, 119, 3, 0]], [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]),
    labels: () => tf.tensor1d([2, 0], 'int32')
  },
  {
    modelType: 'roberta',
    dir: join(repoRoot, 'tests/fixtures/models/tiny-roberta'),
    task: 'regression',
    numLabels: 1,
    inputs: ids([[0, 15, 33, 90, 2], [0, 7, 99, 2, 1]], [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]),
    labels: () => tf.tensor1d([0.5, -1.25])
  },
  {
    modelType: 'vit',
    dir: join(repoRoot, 'tests/fixtures/models/tiny-vit'),
    task: 'image-classification',
    numLabels: 3,
    inputs: { batchSize: 2, pixels: seededPixels(2 * 3 * 32 * 32), dropoutSeed: 7 },
    labels: () => tf.tensor1d([1, 2], 'int32')
  },
  {
    modelType: 'deberta-v2',
    // DeBERTa-v3's layout, written by the real transformers (hfref's make_fixtures.py), made when first read.
    get dir() {
      return hfFixture('deberta-v2-cls')
    },
    task: 'classification',
    numLabels: 3,
    inputs: ids([[1, 15, 33, 40, 2], [1, 7, 19, 2, 0]], [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]),
    labels: () => tf.tensor1d([2, 0], 'int32')
  },
  {
    modelType: 'llama',
    // LlamaForCausalLM with GQA and llama3 rope (hfref's llama-lm); the window and mask paths come with Mistral below.
    get dir() {
      return hfFixture('llama-lm')
    },
    task: 'causal-lm',
    inputs: ids([[5, 17, 300, 999, 42, 8], [77, 1, 2, 3, 0, 0]], [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]),
    labels: () => tf.tensor2d([[5, 17, 300, 999, 42, 8], [77, 1, 2, 3, -100, -100]], undefined, 'int32')
  },
  {
    modelType: 'qwen2',
    // Qwen2 (q/k/v biases, tied embeddings) as a classifier with a new head.
    get dir() {
      return hfFixture('qwen2-lm')
    },
    task: 'classification',
    numLabels: 3,
    inputs: ids([[5, 17, 300, 999, 42], [77, 1, 2, 1062, 1062]], [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]),
    labels: () => tf.tensor1d([2, 0], 'int32')
  },
  {
    modelType: 'mistral',
    get dir() {
      return mistralCheckpoint()
    },
    task: 'causal-lm',
    inputs: ids([[5, 17, 300, 999, 42, 8], [77, 1, 2, 3, 0, 0]], [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]),
    labels: () => tf.tensor2d([[5, 17, 300, 999, 42, 8], [77, 1, 2, 3, -100, -100]], undefined, 'int32')
  },
  {
    modelType: 'use-lite',
    dir: useModelDir,
    task: 'classification',
    numLabels: 2,
    inputs: ids([[12, 400, 5000, 31, 7], [9, 88, 1024, 0, 0]], [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]),
    labels: () => tf.tensor1d([1, 0], 'int32')
  }
]

interface Run {
  logits: Float32Array
  loss: number
  /** ∂loss/∂δ per target, then ∂loss/∂(head variable) per head tensor, by name. */
  grads: Map<string, Float32Array>
}

function familyOf(modelType: string): ModelFamily {
  const family = families.find((f) => f.modelTypes.includes(modelType))
  if (!family) throw new Error(`no family registered for ${modelType}`)
  return family
}

/**
 * One forward and backward pass on the current backend, with SiVA on the default targets (∂loss/∂δ) or,
 * `full`, every weight a variable (∂loss/∂W for all of them: the embedding's one-hot path too); every
 * tensor it made is disposed.
 */
async function step(test: Case, mode: 'siva' | 'full' = 'siva'): Promise<Run> {
  const family = familyOf(test.modelType)
  const source = await openCheckpoint(test.dir)
  const config = source.config!
  const targets = mode === 'siva' ? selectTargets(family.targets(config, source.tensors), family.defaultTargets) : []
  const { adapters, linears } = await adaptTargets(source, targets, methodNamed('siva'), { perc: 0.25, seed: 3, decompose: inProcessDecompose })
  const model = await family.build(source, config, { task: test.task, numLabels: test.numLabels, linears, trainAll: mode === 'full', seed: 5 })
  try {
    // δ starts at 0; nonzero values put the adapter's low-rank product into the forward pass too.
    for (const [a, adapter] of adapters.entries()) {
      const delta = adapter.variables[0]!
      tf.tidy(() => delta.assign(tf.tensor1d(Array.from({ length: delta.size }, (_, i) => 0.02 * (i + 1 + a) * (i % 2 === 0 ? 1 : -1)))))
    }
    const deltas = adapters.map((a) => a.variables[0]!)
    const trained = [...deltas, ...model.baseVariables, ...model.headVariables]
    const names = [...adapters.map((a) => `δ ${a.target.name}`), ...(model.baseTensors ?? []), ...model.head.tensors]
    expect(names).toHaveLength(trained.length)
    const labels = test.labels()
    let logits: tf.Tensor | undefined
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(test.inputs)
      logits = tf.keep(out)
      return taskLoss(test.task, out, labels)
    }, trained)
    const gradList = trained.map((v) => grads[v.name]!)
    const values = await Promise.all([logits!.data(), value.data(), ...gradList.map((g) => g.data())])
    tf.dispose([labels, logits!, value, ...Object.values(grads)])
    return {
      logits: values[0] as Float32Array,
      loss: (values[1] as Float32Array)[0]!,
      grads: new Map(names.map((name, i) => [name, values[i + 2] as Float32Array]))
    }
  } finally {
    model.dispose()
    for (const adapter of adapters) adapter.dispose()
    await source.close()
  }
}

/** max |a − b| / max |b|, and the scale, for the message. */
function relative(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length)
  let scale = 0
  let worst = 0
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!))
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!))
  }
  if (!Number.isFinite(worst)) return Infinity
  return scale === 0 ? worst : worst / scale
}

/** Run `step` on a backend by name (tf holds both; only the active one computes). */
async function on<T>(backend: 'wasm' | 'webgpu', step: () => Promise<T>): Promise<T> {
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') refused`)
  return step()
}

beforeAll(async () => {
  // The webgpu side as the engine starts it; a missing adapter is a failure with its reason, not a skip.
  const choice = await selectBackend('webgpu')
  expect(choice.adapter).toMatchObject({ architecture: 'swiftshader', fallback: true })
  await import('@tensorflow/tfjs-backend-wasm')
  await on('wasm', async () => {
    await tf.ready()
    installWasmKernels()
    installFastGelu()
    installFastMatMul()
  })
}, 120_000)

afterAll(async () => {
  await tf.setBackend('webgpu')
})

describe('every family on webgpu agrees with wasm (SiVA: logits, loss, ∂loss/∂δ, head gradients)', () => {
  it('covers every registered family', () => {
    expect(families.flatMap((f) => f.modelTypes).filter((t) => !cases.some((c) => familyOf(c.modelType).modelTypes.includes(t)))).toEqual([])
  })

  for (const test of cases) {
    it(`${test.modelType}: within ${tolerance} of wasm, relative to each tensor's largest value`, async () => {
      const wasm = await on('wasm', () => step(test))
      const webgpu = await on('webgpu', () => step(test))
      const report: Record<string, number> = { logits: relative(webgpu.logits, wasm.logits), loss: Math.abs(webgpu.loss - wasm.loss) / Math.abs(wasm.loss) }
      for (const [name, grad] of wasm.grads) report[name] = relative(webgpu.grads.get(name)!, grad)
      console.log(`${test.modelType}: worst relative difference ${Math.max(...Object.values(report)).toExponential(2)} over ${Object.keys(report).length} tensors`)
      expect(wasm.grads.size).toBeGreaterThan(2)
      // Every δ gradient is really there (nonzero), so agreement is not agreement of zeros.
      for (const [name, grad] of wasm.grads) if (name.startsWith('δ ')) expect(grad.some((g) => g !== 0), name).toBe(true)
      for (const [name, difference] of Object.entries(report)) expect(difference, name).toBeLessThan(tolerance)
    }, 300_000)
  }

  for (const test of cases.filter((c) => c.modelType === 'gpt2' || c.modelType === 'bert')) {
    it(`${test.modelType}, full fine-tuning: every weight's gradient within ${tolerance} of wasm's`, async () => {
      const wasm = await on('wasm', () => step(test, 'full'))
      const webgpu = await on('webgpu', () => step(test, 'full'))
      expect(webgpu.grads.size).toBe(wasm.grads.size)
      expect(relative(webgpu.logits, wasm.logits), 'logits').toBeLessThan(tolerance)
      // The key bias's true gradient is 0 (softmax ignores a constant added to a row of scores): on both
      // backends it is rounding noise, so it is checked to be tiny beside the largest gradient instead.
      const largest = Math.max(...[...wasm.grads.values()].map((g) => Math.max(...Array.from(g, Math.abs))))
      const keyBias = [...wasm.grads.keys()].filter((name) => /attention\.self\.key\.bias$/.test(name))
      expect(keyBias.length).toBe(test.modelType === 'bert' ? 2 : 0)
      for (const name of keyBias) for (const run of [wasm, webgpu]) expect(Math.max(...Array.from(run.grads.get(name)!, Math.abs)), name).toBeLessThan(1e-6 * largest)
      const worst = [...wasm.grads].filter(([name]) => !keyBias.includes(name)).map(([name, grad]) => [name, relative(webgpu.grads.get(name)!, grad)] as const).sort((a, b) => b[1] - a[1])
      console.log(`${test.modelType} full: ${wasm.grads.size} gradients, worst ${worst[0]![0]} at ${worst[0]![1].toExponential(2)}`)
      for (const [name, difference] of worst) expect(difference, name).toBeLessThan(tolerance)
    }, 300_000)
  }
})
