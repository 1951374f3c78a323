import * as tf from '@tensorflow/tfjs'
import { arenaScratchOffset, gemmKernel, type GemmKernel } from './fastMatMul'
import type { WasmBackendLike } from './wasmKernels'

/**
 * The exact GELU and its gradient on the wasm backend, each as one kernel (wasm/gelu.c) in the matmul's
 * module: TensorFlow.js builds the activation from five kernels forward (an erf among them) and about
 * eight backward. Like the matmul, it copies its operands into the module's memory and the result back.
 * `geluExact` picks this kernel where it is installed and the backend is wasm, and the composite otherwise.
 */
const forwardName = 'SivaGelu'
const backwardName = 'SivaGeluGrad'

let installed = false

/** The kernel takes values in blocks of 16 (four f32x4 vectors side by side). */
const block = 16

/** Run `compute` on the inputs copied into the module's memory (each padded to whole blocks); returns the output. */
function inArena(backend: WasmBackendLike, inputs: tf.TensorInfo[], shape: number[], compute: (kernel: GemmKernel, pointers: number[], out: number, padded: number) => void): tf.TensorInfo {
  const kernel = gemmKernel()
  const n = shape.reduce((a, b) => a * b, 1)
  const padded = Math.ceil(n / block) * block
  const base = kernel.arena(arenaScratchOffset / 4 + padded * (inputs.length + 1))
  if (base === 0) throw new Error(`GELU: cannot grow the kernel's memory for ${n} values`)
  const first = base + arenaScratchOffset
  const pointers = inputs.map((_, i) => first + i * padded * 4)
  const out = first + inputs.length * padded * 4
  inputs.forEach((input, i) => {
    const view = new Float32Array(kernel.memory.buffer, pointers[i]!, padded)
    view.set(backend.typedArrayFromHeap(input) as Float32Array)
    view.fill(0, n)
  })
  compute(kernel, pointers, out, padded)
  const output = backend.makeOutput(shape, 'float32')
  // A view taken after makeOutput: allocating may grow the backend's heap and detach earlier ones.
  ;(backend.typedArrayFromHeap(output) as Float32Array).set(new Float32Array(kernel.memory.buffer, out, n))
  return output
}

/** Register the two kernels and the gradient for the wasm backend (idempotent). */
export function installFastGelu(): void {
  if (installed) return
  tf.registerKernel({
    kernelName: forwardName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs['x'] as tf.TensorInfo
      return inArena(backend as unknown as WasmBackendLike, [x], [...x.shape], (k, [px], out, n) => k.gelu_forward(px!, out, n))
    }
  })
  tf.registerKernel({
    kernelName: backwardName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs['x'] as tf.TensorInfo
      const dy = inputs['dy'] as tf.TensorInfo
      return inArena(backend as unknown as WasmBackendLike, [x, dy], [...x.shape], (k, [px, pdy], out, n) => k.gelu_backward(px!, pdy!, out, n))
    }
  })
  tf.registerGradient({
    kernelName: forwardName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[]
      return { x: () => tf.engine().runKernel(backwardName, { x: x!, dy: dy as tf.Tensor }) as tf.Tensor }
    }
  })
  installed = true
}

/** Whether geluExact runs as one wasm kernel now. */
export function fastGeluActive(): boolean {
  return installed && tf.getBackend() === 'wasm'
}

/** GELU(x) = x·Φ(x), exact (erf) form, as BERT, RoBERTa and ViT use it. */
export function geluExact(x: tf.Tensor): tf.Tensor {
  if (fastGeluActive() && x.dtype === 'float32') return tf.engine().runKernel(forwardName, { x }) as tf.Tensor
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))))
}
