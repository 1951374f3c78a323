import * as tf from '@tensorflow/tfjs'
import { acceptsRelaxedSimd, wasmApi, type WasmMemory } from '../linalg/svdKernel'
import { GEMM_WASM_BASE64, GEMM_WASM_RELAXED_BASE64 } from './wasm/gemmWasm.generated'

/**
 * TensorFlow.js's WebAssembly matmul runs at 13–18 GFLOP/s on one thread here, and matmul is nearly all of
 * a training step. Our own kernel (wasm/gemm.c: packed panels, a 4×8 micro-kernel, fused multiply-add in
 * the relaxed build) runs about twice as fast, so on the wasm backend the BatchMatMul kernel is replaced by
 * one that copies the operands into the kernel's memory, multiplies there, and copies the product back (the
 * copies are O(n²) against O(n³) work). Anything it does not handle goes to the original kernel.
 */
/** A compiled module (opaque here; posted to helper threads as it is). */
type WasmModule = object

export interface GemmKernel {
  memory: WasmMemory
  arena(floats: number): number
  slots(): number
  sgemm(m: number, n: number, k: number, a: number, lda: number, transA: number, b: number, ldb: number, transB: number, c: number, ldc: number, slot: number): void
  /** wasm/gelu.c, in the same module (fastGelu.ts): n a multiple of 16. */
  gelu_forward(x: number, y: number, n: number): void
  gelu_backward(x: number, dy: number, dx: number, n: number): void
}

/** The slice of the wasm backend this kernel touches (tfjs does not export its type). */
interface WasmBackendLike {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined }
  wasm: { HEAPU8: Uint8Array }
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
}

let kernel: GemmKernel | undefined
let compiled: WasmModule | undefined
let variant: 'relaxed-simd' | 'simd' | undefined

function decode(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
}

/** An instance of the kernel on `memory` (shared: helper threads instantiate the same module on it). */
function instantiate(module: WasmModule, memory: WasmMemory): GemmKernel {
  const exports = new wasmApi.Instance(module, { env: { memory } }).exports as unknown as Omit<GemmKernel, 'memory'>
  return { ...exports, memory }
}

export function gemmKernel(): GemmKernel {
  if (!kernel) {
    const relaxed = decode(GEMM_WASM_RELAXED_BASE64)
    variant = acceptsRelaxedSimd(relaxed) ? 'relaxed-simd' : 'simd'
    compiled = new wasmApi.Module(variant === 'relaxed-simd' ? relaxed : decode(GEMM_WASM_BASE64))
    // 24 MiB to start (what the module declares: its packing slots), up to 2 GiB.
    kernel = instantiate(compiled, new wasmApi.Memory({ initial: 384, maximum: 32768, shared: true }))
  }
  return kernel
}

// ---------------------------------------------------------------- threads

/**
 * Several threads on one product: helper threads (started by the host, which owns worker_threads) each
 * instantiate the kernel on the same shared memory and wait on a control block at the start of the arena.
 * The caller writes one job per participant, bumps the generation and computes its own share; helpers
 * compute theirs and count themselves done. Jobs are rows of C (or whole items of a batch), so no two
 * threads write the same bytes.
 *
 * Control block (int32): [generation, done, stop, helpers, …]; participant p's job at 16 + 16·p:
 * m, n, k, a, lda, transA, b, ldb, transB, c, ldc, count, strideA, strideB, strideC
 * (addresses and strides in bytes; `count` products one after another, each `stride` further on).
 * Participant p packs in the kernel's slot p.
 */
const GENERATION = 0
const DONE = 1
const STOP = 2
const jobBase = 16
const jobSize = 16
const maxParticipants = 8
const controlBytes = 4 * (jobBase + jobSize * maxParticipants)
/** Where other kernels of this module (fastGelu) may put their operands: past the threads' control block. */
export const arenaScratchOffset = controlBytes

/** What a helper thread needs: posted to it as workerData (a Module and a shared Memory clone across threads). */
export interface GemmHelperData {
  module: WasmModule
  memory: WasmMemory
  control: number
  index: number
  /** The generation when the helper was started: a job posted while it was still loading is not missed. */
  generation: number
}

/** A started helper: the host's handle on the thread, and whether it is still running. */
export interface GemmHelperHandle {
  alive(): boolean
  stop(): Promise<void>
}

let helpers: GemmHelperHandle[] = []
/** Products split over threads so far (tests and benchmarks check that the threads were used). */
let splitProducts = 0

export function gemmSplitCount(): number {
  return splitProducts
}

/** How many threads multiply: 1 + running helpers. */
export function gemmThreads(): number {
  return 1 + helpers.length
}

/**
 * Start `count` helper threads through the host's `spawn` (engine code never touches worker_threads).
 * Returns a function that stops them. With helpers running, large products are split across threads.
 */
export function startGemmHelpers(count: number, spawn: (data: GemmHelperData) => GemmHelperHandle): () => Promise<void> {
  const gemm = gemmKernel()
  const wanted = Math.max(0, Math.min(count, gemm.slots() - 1 - helpers.length, maxParticipants - 1 - helpers.length))
  const control = gemm.arena(0)
  const words = new Int32Array(gemm.memory.buffer, control, controlBytes / 4)
  Atomics.store(words, STOP, 0)
  const generation = Atomics.load(words, GENERATION)
  const started = Array.from({ length: wanted }, (_, i) => spawn({ module: compiled!, memory: gemm.memory, control, index: i + 1, generation }))
  helpers = [...helpers, ...started]
  return async () => {
    helpers = helpers.filter((h) => !started.includes(h))
    Atomics.store(words, STOP, 1)
    Atomics.add(words, GENERATION, 1)
    Atomics.notify(words, GENERATION)
    await Promise.all(started.map((h) => h.stop()))
    if (helpers.length > 0) Atomics.store(words, STOP, 0)
  }
}

/** The body of a helper thread: multiply whatever job the generation brings, until told to stop. */
export function runGemmHelper(data: GemmHelperData): void {
  const gemm = instantiate(data.module, data.memory)
  const words = new Int32Array(data.memory.buffer, data.control, controlBytes / 4)
  let seen = data.generation
  for (;;) {
    Atomics.wait(words, GENERATION, seen)
    seen = Atomics.load(words, GENERATION)
    if (Atomics.load(words, STOP) === 1) return
    runJob(gemm, words, data.index)
    Atomics.add(words, DONE, 1)
    Atomics.notify(words, DONE)
  }
}

interface Job {
  m: number
  n: number
  k: number
  a: number
  lda: number
  transA: boolean
  b: number
  ldb: number
  transB: boolean
  c: number
  ldc: number
  count: number
  strideA: number
  strideB: number
  strideC: number
}

function writeJob(words: Int32Array, index: number, job: Job): void {
  const at = jobBase + jobSize * index
  const fields = [job.m, job.n, job.k, job.a, job.lda, job.transA ? 1 : 0, job.b, job.ldb, job.transB ? 1 : 0, job.c, job.ldc, job.count, job.strideA, job.strideB, job.strideC, 0]
  for (let i = 0; i < jobSize; i++) words[at + i] = fields[i]!
}

function runJob(gemm: GemmKernel, words: Int32Array, index: number, slot = index): void {
  const at = jobBase + jobSize * index
  const [m, n, k, a, lda, transA, b, ldb, transB, c, ldc, count, strideA, strideB, strideC] = words.subarray(at, at + jobSize) as unknown as number[]
  for (let i = 0; i < count!; i++) gemm.sgemm(m!, n!, k!, a! + i * strideA!, lda!, transA!, b! + i * strideB!, ldb!, transB!, c! + i * strideC!, ldc!, slot)
}

/** Below this many multiply-adds a product stays on one thread: waking helpers costs tens of microseconds. */
const parallelMacs = 2 ** 21

/**
 * Run `job` (count products) split over the participants: by items of the batch when there are enough of
 * them, else by rows of C.
 */
function runParallel(gemm: GemmKernel, job: Job): void {
  splitProducts++
  const words = new Int32Array(gemm.memory.buffer, gemm.arena(0), controlBytes / 4)
  const participants = Math.min(1 + helpers.length, job.count >= 1 + helpers.length ? job.count : Math.floor(job.m / 16))
  const parts: Job[] = []
  if (job.count >= participants) {
    for (let p = 0; p < participants; p++) {
      const from = Math.floor((p * job.count) / participants)
      const to = Math.floor(((p + 1) * job.count) / participants)
      parts.push({ ...job, count: to - from, a: job.a + from * job.strideA, b: job.b + from * job.strideB, c: job.c + from * job.strideC })
    }
  } else {
    // Rows in multiples of the micro-kernel's 4, as even as that allows.
    for (let p = 0; p < participants; p++) {
      const from = 4 * Math.floor((p * job.m) / participants / 4)
      const to = p === participants - 1 ? job.m : 4 * Math.floor(((p + 1) * job.m) / participants / 4)
      const rowOffset = job.transA ? from * 4 : from * job.lda * 4
      parts.push({ ...job, m: to - from, a: job.a + rowOffset, c: job.c + from * job.ldc * 4 })
    }
  }
  Atomics.store(words, DONE, 0)
  for (let p = 1; p < parts.length; p++) writeJob(words, p, parts[p]!)
  // Helpers beyond the parts get an empty job.
  for (let p = parts.length; p <= helpers.length; p++) writeJob(words, p, { ...job, count: 0 })
  Atomics.add(words, GENERATION, 1)
  Atomics.notify(words, GENERATION)
  writeJob(words, 0, parts[0]!)
  runJob(gemm, words, 0)
  const expected = helpers.length
  for (;;) {
    const done = Atomics.load(words, DONE)
    if (done >= expected) return
    if (Atomics.wait(words, DONE, done, 2000) === 'timed-out' && helpers.some((h) => !h.alive())) {
      // A helper died: stop using threads and do every part here (each part overwrites its rows of C).
      helpers = []
      for (let p = 1; p < parts.length; p++) runJob(gemm, words, p, 0)
      return
    }
  }
}

/** C = op(A)·op(B) for row-major float32 matrices, through the kernel (and its helper threads, if any). */
export function sgemm(a: Float32Array, b: Float32Array, m: number, n: number, k: number, transA = false, transB = false): Float32Array {
  const gemm = gemmKernel()
  const layout = arenaLayout(gemm, m * k, k * n, m * n)
  if (layout === undefined) throw new RangeError(`matmul of ${m}×${k} by ${k}×${n} does not fit in WebAssembly memory`)
  const heap = new Float32Array(gemm.memory.buffer)
  heap.set(a, layout.a / 4)
  heap.set(b, layout.b / 4)
  multiplyInArena(gemm, { m, n, k, a: layout.a, lda: transA ? m : k, transA, b: layout.b, ldb: transB ? k : n, transB, c: layout.c, ldc: n, count: 1, strideA: 0, strideB: 0, strideC: 0 })
  return new Float32Array(gemm.memory.buffer, layout.c, m * n).slice()
}

interface ArenaLayout {
  a: number
  b: number
  c: number
}

/** Byte addresses in the arena: the control block, then A, B and C. */
function arenaLayout(gemm: GemmKernel, floatsA: number, floatsB: number, floatsC: number): ArenaLayout | undefined {
  const base = gemm.arena(controlBytes / 4 + floatsA + floatsB + floatsC)
  if (base === 0) return undefined
  const a = base + controlBytes
  const b = a + floatsA * 4
  const c = b + floatsB * 4
  return { a, b, c }
}

function multiplyInArena(gemm: GemmKernel, job: Job): void {
  if (helpers.length > 0 && job.count * job.m * job.n * job.k >= parallelMacs && (job.count > 1 || job.m >= 32)) {
    runParallel(gemm, job)
    return
  }
  for (let i = 0; i < job.count; i++) {
    gemm.sgemm(job.m, job.n, job.k, job.a + i * job.strideA, job.lda, job.transA ? 1 : 0, job.b + i * job.strideB, job.ldb, job.transB ? 1 : 0, job.c + i * job.strideC, job.ldc, 0)
  }
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
  const layout = arenaLayout(gemm, batchA * sizeA, batchB * sizeB, batch * m * n)
  if (layout === undefined) return undefined
  const entryA = backend.dataIdMap.get(a.dataId)
  const entryB = backend.dataIdMap.get(b.dataId)
  if (!entryA || !entryB) return undefined
  const heap = backend.wasm.HEAPU8
  const mine = new Uint8Array(gemm.memory.buffer)
  mine.set(heap.subarray(entryA.memoryOffset, entryA.memoryOffset + batchA * sizeA * 4), layout.a)
  mine.set(heap.subarray(entryB.memoryOffset, entryB.memoryOffset + batchB * sizeB * 4), layout.b)
  multiplyInArena(gemm, {
    m,
    n,
    k,
    a: layout.a,
    lda: colsA,
    transA: transposeA,
    b: layout.b,
    ldb: colsB,
    transB: transposeB,
    c: layout.c,
    ldc: n,
    count: batch,
    strideA: batchA === 1 ? 0 : sizeA * 4,
    strideB: batchB === 1 ? 0 : sizeB * 4,
    strideC: m * n * 4
  })
  const out = backend.makeOutput(outShape, 'float32')
  const outOffset = backend.dataIdMap.get(out.dataId)!.memoryOffset
  // makeOutput may have grown (and so moved) the backend's heap: take its view after.
  backend.wasm.HEAPU8.set(new Uint8Array(gemm.memory.buffer, layout.c, batch * m * n * 4), outOffset)
  return out
}
