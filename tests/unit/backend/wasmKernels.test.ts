import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'

/**
 * The wasm backend's Identity (shares data) and row GatherV2 (block copies) as engine/backend/wasmKernels.ts
 * replaces them, against the cpu backend's kernels on the same inputs.
 */
beforeAll(async () => {
  await selectBackend('wasm')
})

function seeded(count: number, seed: number): Float32Array {
  let state = seed
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 4294967296 - 0.5
  })
}

/** Run `f` on the cpu backend and on wasm; both results as plain arrays. */
async function onBoth(f: () => tf.Tensor): Promise<{ cpu: number[]; wasm: number[]; shapes: number[][] }> {
  await tf.setBackend('cpu')
  const onCpu = tf.tidy(f)
  const cpu = Array.from(onCpu.dataSync())
  const cpuShape = onCpu.shape
  onCpu.dispose()
  await tf.setBackend('wasm')
  const onWasm = tf.tidy(f)
  const wasm = Array.from(onWasm.dataSync())
  const shapes = [cpuShape, onWasm.shape]
  onWasm.dispose()
  return { cpu, wasm, shapes }
}

describe('wasm kernels', () => {
  it('gathers rows exactly as the cpu backend does, for float32 and int32 tables and any index shape', async () => {
    const table = seeded(50 * 3 * 4, 7)
    const ids = [0, 49, 3, 3, 17, 0, 48, 1, 2, 2, 9, 30]
    for (const [f, label] of [
      [() => tf.gather(tf.tensor(table, [50, 3, 4]), tf.tensor2d(ids, [3, 4], 'int32')), 'float32 [50,3,4] by [3,4]'],
      [() => tf.gather(tf.tensor(Int32Array.from(table, (v) => Math.round(v * 1000)), [50, 12], 'int32'), tf.tensor1d(ids, 'int32')), 'int32 rows'],
      // Not rows: the original kernel.
      [() => tf.gather(tf.tensor(table, [50, 12]), tf.tensor1d([11, 0, 5], 'int32'), 1), 'axis 1'],
      [() => tf.gather(tf.tensor(table, [2, 25, 12]), tf.tensor2d([1, 24, 0, 3], [2, 2], 'int32'), 1, 1), 'batchDims 1']
    ] as const) {
      const { cpu, wasm, shapes } = await onBoth(f)
      expect(wasm, label).toEqual(cpu)
      expect(shapes[1], label).toEqual(shapes[0])
    }
    expect(() => tf.tidy(() => tf.gather(tf.tensor(table, [50, 12]), tf.tensor1d([50], 'int32')))).toThrow(/index value 50 is not in \[0, 49\]/)
  })

  it('clones share the data and stay valid when the original is freed; gradients through saved tensors agree with cpu', async () => {
    await tf.setBackend('wasm')
    const x = tf.tensor(seeded(64, 3), [8, 8])
    const before = Array.from(x.dataSync())
    const buffers = (tf.memory() as { numDataBuffers: number }).numDataBuffers
    const copy = tf.clone(x)
    // Shared, not copied: no new data buffer (tfjs's own wasm Identity makes one).
    expect((tf.memory() as { numDataBuffers: number }).numDataBuffers).toBe(buffers)
    x.dispose()
    expect(Array.from(copy.dataSync())).toEqual(before)
    copy.dispose()
    const a = seeded(6 * 5, 11)
    const w = seeded(5 * 4, 12)
    const grad = (): tf.Tensor => tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.matMul(v, tf.tensor(w, [5, 4])))))(tf.tensor(a, [6, 5]))
    const { cpu, wasm } = await onBoth(grad)
    wasm.forEach((value, i) => expect(Math.abs(value - cpu[i]!)).toBeLessThan(1e-5))
  })
})
