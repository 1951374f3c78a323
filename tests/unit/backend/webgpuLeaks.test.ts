import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { openCheckpoint } from '../../../src/main/engine/io'
import { gpt2Family } from '../../../src/main/engine/models/gpt2'
import { lossOf } from '../../../src/main/engine/models/loss'
import type { ModelInputs } from '../../../src/main/engine/models/types'
import { adaptTargets, methodNamed, selectTargets } from '../../../src/main/engine/peft'
import { AdamW, clipToNorm, globalNorm } from '../../../src/main/engine/training/optimizer'
import { inProcessDecompose } from '../../helpers/decompose'
import { tinyGpt2 } from '../../helpers/paths'
import { useSoftwareVulkan } from '../../helpers/softwareVulkan'

// Before Dawn starts: its Vulkan loader reads these (SwiftShader, no GPU here or in CI).
useSoftwareVulkan()

/**
 * Leaks on webgpu, where a leaked tensor is a GPU buffer: SiVA on tiny-random-gpt2, a training step as the
 * loop takes it (variableGrads, the gradient norm, clipping, AdamW, one read of loss and norm). Counted by
 * tfjs (numTensors) and by the webgpu backend's buffer manager (numBytesInGPU: bytes in buffers tensors
 * hold; numBytesAllocatedInGPU: those plus the pool of freed buffers kept for reuse).
 */
interface GpuMemory extends tf.MemoryInfo {
  numBytesInGPU: number
  numBytesAllocatedInGPU: number
}

/**
 * tf.memory() after the command queue is submitted: tfjs-webgpu releases the buffer of a tensor disposed
 * while commands still using it wait unsubmitted only at the next submit, which a read forces. 4096
 * elements: below WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD (1000) tfjs-webgpu computes on the CPU and submits nothing.
 */
async function gpuMemory(): Promise<GpuMemory> {
  const flush = tf.tidy(() => tf.add(tf.zeros([4096]), 1))
  await flush.data()
  flush.dispose()
  const memory = tf.memory() as GpuMemory
  expect(typeof memory.numBytesInGPU, 'tf.memory() on webgpu reports numBytesInGPU').toBe('number')
  return memory
}

const rows = [
  [5, 17, 300, 999, 42, 8],
  [77, 1, 2, 3, 500, 98]
]
const inputs: ModelInputs = { batchSize: 2, length: 6, inputIds: Int32Array.from(rows.flat()), attentionMask: new Int32Array(12).fill(1), dropoutSeed: 3 }

beforeAll(async () => {
  const choice = await selectBackend('webgpu')
  expect(choice.adapter).toMatchObject({ architecture: 'swiftshader' })
}, 120_000)

describe('webgpu: no tensor or GPU buffer outlives a SiVA step', () => {
  it('a forward and backward pass, then a loop of steps, then disposing everything, leaves memory where it was', async () => {
    const source = await openCheckpoint(tinyGpt2)
    await tf.ready()
    const before = await gpuMemory()
    const targets = selectTargets(gpt2Family.targets(source.config!, source.tensors), gpt2Family.defaultTargets)
    const { adapters, linears } = await adaptTargets(source, targets, methodNamed('siva'), { perc: 0.25, seed: 1, decompose: inProcessDecompose })
    const model = await gpt2Family.build(source, source.config!, { task: 'causal-lm', linears, seed: 1 })
    const trained = [...adapters.flatMap((a) => a.variables), ...model.headVariables]
    const labels = tf.tensor2d(rows, undefined, 'int32')
    const built = await gpuMemory()

    // A forward + backward pass, its results read and disposed, leaves only the model's tensors. The first
    // pass uploads the weights (tfjs-webgpu keeps a tensor's values on the CPU until a kernel reads it), so
    // the bytes on the GPU are compared from the second pass on.
    const pass = async (): Promise<GpuMemory> => {
      const { value, grads } = tf.variableGrads(() => lossOf('causal-lm', model, inputs, labels), trained)
      expect(Number.isFinite((await value.data())[0]!)).toBe(true)
      tf.dispose([value, ...Object.values(grads)])
      return await gpuMemory()
    }
    const firstPass = await pass()
    expect(firstPass.numTensors).toBe(built.numTensors)
    expect(firstPass.numBytesInGPU).toBeGreaterThan(built.numBytesInGPU)
    const secondPass = await pass()
    expect(secondPass.numTensors).toBe(built.numTensors)
    expect(secondPass.numBytesInGPU).toBe(firstPass.numBytesInGPU)

    // Training steps as the loop takes them; the optimiser's moments are made up front, so nothing may grow.
    const optimizer = new AdamW([{ name: 'all', variables: trained, lr: 1e-2, weightDecay: 0.01 }])
    const step = async (): Promise<number> => {
      const { value: loss, grads: g } = tf.variableGrads(() => lossOf('causal-lm', model, inputs, labels), trained)
      const gradients = trained.map((v) => g[v.name]!)
      const norm = globalNorm(gradients)
      const [lossValue, normValue] = await Promise.all([loss.data(), norm.data()])
      const clipped = clipToNorm(gradients, normValue[0]!, 1)
      optimizer.apply(clipped)
      tf.dispose(clipped === gradients ? [loss, norm, ...gradients] : [loss, norm, ...gradients, ...clipped])
      return lossValue[0]!
    }
    const first = await step()
    const settled = await gpuMemory()
    const counts: number[] = []
    const bytes: number[] = []
    const pooled: number[] = []
    let last = first
    for (let i = 0; i < 5; i++) {
      last = await step()
      const now = await gpuMemory()
      counts.push(now.numTensors)
      bytes.push(now.numBytesInGPU)
      pooled.push(now.numBytesAllocatedInGPU)
    }
    expect(last).toBeLessThan(first) // the steps really trained
    expect(counts).toEqual(Array(5).fill(settled.numTensors))
    expect(bytes).toEqual(Array(5).fill(settled.numBytesInGPU))
    // The pool of freed buffers is reused step after step: after the first steps it does not grow.
    expect(pooled.at(-1)).toBe(pooled[0])

    optimizer.dispose()
    labels.dispose()
    model.dispose()
    for (const adapter of adapters) adapter.dispose()
    await source.close()
    const after = await gpuMemory()
    expect(after.numTensors).toBe(before.numTensors)
    expect(after.numBytesInGPU).toBe(before.numBytesInGPU)
    // The freed buffers stay pooled for reuse (tfjs-webgpu releases its pool only with the backend).
    expect(after.numBytesAllocatedInGPU).toBeGreaterThan(0)
  }, 300_000)
})
