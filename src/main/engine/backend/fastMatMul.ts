import * as tf from '@tensorflow/tfjs'
import { acceptsRelaxedSimd, wasmApi } from '../linalg/svdKernel'
import { GEMM_WASM_BASE64, GEMM_WASM_RELAXED_BASE64 } from './wasm/gemmWasm.generated'

/**
 * TensorFlow.js's WebAssembly matmul runs at 13–18 GFLOP/s on one thread here, and matmul is nearly all of
 * a training step. Our own kernel (wasm/gemm.c: packed panels, a 4×8 micro-kernel, fused multiply-add in
 * the relaxed build) runs about twice as fast, so on the wasm backend the BatchMatMul kernel is replaced by
 * one that copies the operands into the kernel's memory, multiplies there, and copies the product back (the
 * copies are O(n²) against O(n³) work). Anything it does not handle goes to the original kernel.
 */
interface GemmKernel {
  memory: { buffer: ArrayBuffer }
  arena(floats: number): number
  sgemm(m: number, n: number, k: number, a: number, lda: number, transA: number, b: number, ldb: number, transB: number, c: number): void
}

/** The slice of the wasm backend this kernel touches (tfjs does not export its type). */
interface WasmBackendLike {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined }
  wasm: { HEAPU8: Uint8Array }
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
}

let kernel: GemmKernel | undefined
let variant: 'relaxed-simd' | 'simd' | undefined

function decode(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
}

export function gemmKernel(): GemmKernel {
  if (!kernel) {
    const relaxed = decode(GEMM_WASM_RELAXED_BASE64)
    variant = acceptsRelaxedSimd(relaxed) ? 'relaxed-simd' : 'simd'
    const module = new wasmApi.Module(variant === 'relaxed-simd' ? relaxed : decode(GEMM_WASM_BASE64))
    kernel = new wasmApi.Instance(module, {}).exports as unknown as GemmKernel
  }
  return kernel
}

/** C = op(A)·op(B) for row-major float32 matrices, through the kernel (for tests and benchmarks). */
export function sgemm(a: Float32Array, b: Float32Array, m: number, n: number, k: number, transA = false, transB = false): Float32Array {
  const gemm = gemmKernel()
  const base = gemm.arena(m * k + k * n + m * n)
  if (base === 0) throw new RangeError(`matmul of ${m}×${k} by ${k}×${n} does not fit in WebAssembly memory`)
  const heap = new Float32Array(gemm.memory.buffer)
  const at = base / 4
  heap.set(a, at)
  heap.set(b, at + m * k)
  gemm.sgemm(m, n, k, base, transA ? m : k, transA ? 1 : 0, base + m * k * 4, transB ? k : n, transB ? 1 : 0, base + (m * k + k * n) * 4)
  return new Float32Array(gemm.memory.buffer, base + (m * k + k * n) * 4, m * n).slice()
}

let installed = false

/**
 * Whether a matmul with transposeA/transposeB costs the same as a plain one: true with our kernel (its
 * packing reads either layout) and on the native backends; false on tfjs's own wasm matmul, whose
 * transposed product is about 8× slower than a plain one.
 */
export function transposedMatMulIsFast(): boolean {
  return installed || tf.getBackend() !== 'wasm'
}

/** Replace the wasm backend's BatchMatMul with the faster kernel (idempotent). Returns the variant in use. */
export function installFastMatMul(): 'relaxed-simd' | 'simd' {
  gemmKernel()
  if (installed) return variant!
  const original = tf.getKernel('BatchMatMul', 'wasm')
  if (!original) throw new Error('the wasm backend has no BatchMatMul kernel to replace')
  const fallback = original.kernelFunc
  tf.unregisterKernel('BatchMatMul', 'wasm')
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: (args) => {
      const { inputs, attrs } = args
      const a = inputs['a'] as tf.TensorInfo
      const b = inputs['b'] as tf.TensorInfo
      const transposeA = Boolean((attrs as { transposeA?: boolean }).transposeA)
      const transposeB = Boolean((attrs as { transposeB?: boolean }).transposeB)
      const backend = args.backend as unknown as WasmBackendLike
      const result = multiply(backend, a, b, transposeA, transposeB)
      return result ?? (fallback(args) as tf.TensorInfo)
    }
  })
  installed = true
  return variant!
}

/** Batched float32 matmul with equal batch shapes (or one side unbatched); undefined: let the original kernel do it. */
function multiply(backend: WasmBackendLike, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined
  const ra = a.shape.length
  const rb = b.shape.length
  const [rowsA, colsA] = [a.shape[ra - 2]!, a.shape[ra - 1]!]
  const [rowsB, colsB] = [b.shape[rb - 2]!, b.shape[rb - 1]!]
  const m = transposeA ? colsA : rowsA
  const k = transposeA ? rowsA : colsA
  const n = transposeB ? rowsB : colsB
  if ((transposeB ? colsB : rowsB) !== k) return undefined
  const batchShapeA = a.shape.slice(0, -2)
  const batchShapeB = b.shape.slice(0, -2)
  const batchA = batchShapeA.reduce((x, y) => x * y, 1)
  const batchB = batchShapeB.reduce((x, y) => x * y, 1)
  const sameBatch = batchShapeA.length === batchShapeB.length && batchShapeA.every((d, i) => d === batchShapeB[i])
  if (!sameBatch && batchA !== 1 && batchB !== 1) return undefined
  const batch = Math.max(batchA, batchB)
  const outShape = [...(batchA >= batchB ? batchShapeA : batchShapeB), m, n]
  if (m * n * batch === 0) return undefined

  const gemm = gemmKernel()
  const sizeA = rowsA * colsA
  const sizeB = rowsB * colsB
  const base = gemm.arena(batchA * sizeA + batchB * sizeB + m * n)
  if (base === 0) return undefined
  const entryA = backend.dataIdMap.get(a.dataId)
  const entryB = backend.dataIdMap.get(b.dataId)
  if (!entryA || !entryB) return undefined
  const heap = backend.wasm.HEAPU8
  const mine = new Uint8Array(gemm.memory.buffer)
  mine.set(heap.subarray(entryA.memoryOffset, entryA.memoryOffset + batchA * sizeA * 4), base)
  mine.set(heap.subarray(entryB.memoryOffset, entryB.memoryOffset + batchB * sizeB * 4), base + batchA * sizeA * 4)
  const out = backend.makeOutput(outShape, 'float32')
  const outOffset = backend.dataIdMap.get(out.dataId)!.memoryOffset
  const cBase = base + (batchA * sizeA + batchB * sizeB) * 4
  for (let i = 0; i < batch; i++) {
    const pa = base + (batchA === 1 ? 0 : i * sizeA * 4)
    const pb = base + batchA * sizeA * 4 + (batchB === 1 ? 0 : i * sizeB * 4)
    gemm.sgemm(m, n, k, pa, colsA, transposeA ? 1 : 0, pb, colsB, transposeB ? 1 : 0, cBase)
    // makeOutput's memory may move if the backend's heap grew: read the offset's view fresh each time.
    backend.wasm.HEAPU8.set(new Uint8Array(gemm.memory.buffer, cBase, m * n * 4), outOffset + i * m * n * 4)
  }
  return out
}
