// The compiled SVD kernel (wasm/*.c), instantiated once per thread on first use. Synchronous on purpose:
// analysis workers call svd() inside a message handler, and a 75 KB module compiles in milliseconds.
//
// Two builds of the same C sources are embedded (scripts/build-wasm.mjs): plain SIMD128, which every
// supported runtime runs, and SIMD128 + relaxed SIMD, whose f64x2.relaxed_madd becomes one fused
// multiply-add where the CPU has FMA (the inner loops of GEMM and GEMV; see wasm/simd.h). The relaxed one
// is used where the engine validates it: Electron's V8 by default; Node 20's V8 after the flag below.
import { setFlagsFromString } from 'node:v8'
import { SVD_WASM_BASE64, SVD_WASM_RELAXED_BASE64 } from './wasm/svdWasm.generated'

/** The slice of the WebAssembly JS API used here (the project's type libraries do not declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: object }
  RuntimeError: new (message?: string) => Error
  /** Linear memory; `shared` gives one that several threads' instances use at once (fastMatMul.ts). */
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory
  validate(bytes: Uint8Array): boolean
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly

export interface SvdKernel {
  memory: { buffer: ArrayBuffer }
  /** Frees all workspace of the previous call: every call starts from the same heap base. */
  sv_reset(): void
  /** Workspace for `count` doubles; returns a byte offset into memory. */
  sv_alloc(count: number): number
  /** 0 ok, −1 non-finite input, 1 no convergence. flags: 0, or 1 (QR iteration) | 2 (no QR first) for tests. */
  sv_svd(a: number, m: number, n: number, s: number, u: number, vt: number, wantVectors: number, flags: number): number
  /**
   * All min(m,n) singular values into s, and the vectors of s[start..start+count) only: u (row-major
   * m×count), vt (row-major count×n). 0 ok, −1 non-finite input, −2 band out of range, 1 no convergence,
   * 2 a band vector failed its residual check (s is still right). flags: 2 (no QR first) for tests.
   */
  sv_svd_band(a: number, m: number, n: number, s: number, u: number, vt: number, start: number, count: number, flags: number): number
}

/** 'relaxed-simd': SIMD128 + f64x2.relaxed_madd; 'simd': SIMD128 only (always available). */
export type SvdKernelVariant = 'relaxed-simd' | 'simd'

let kernel: SvdKernel | undefined
let kernelVariant: SvdKernelVariant | undefined
let forcedVariant: SvdKernelVariant | undefined
let relaxedAvailable: boolean | undefined
const bytesCache = new Map<SvdKernelVariant, Uint8Array>()

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

function variantBytes(variant: SvdKernelVariant): Uint8Array {
  let bytes = bytesCache.get(variant)
  if (!bytes) {
    bytes = decodeBase64(variant === 'relaxed-simd' ? SVD_WASM_RELAXED_BASE64 : SVD_WASM_BASE64)
    bytesCache.set(variant, bytes)
  }
  return bytes
}

/**
 * Whether this thread's engine accepts the relaxed build. Node 20 (V8 11.3) has relaxed SIMD behind
 * --experimental-wasm-relaxed-simd; V8 reads wasm feature flags when it validates a module, so setting the
 * flag at run time (process-wide, harmless to other modules) is enough. Newer V8 ships it enabled.
 */
function relaxedSimdAvailable(): boolean {
  if (relaxedAvailable === undefined) relaxedAvailable = acceptsRelaxedSimd(variantBytes('relaxed-simd'))
  return relaxedAvailable
}

/** Whether this engine validates a relaxed-SIMD module, switching Node 20's flag on first if it must. */
export function acceptsRelaxedSimd(bytes: Uint8Array): boolean {
  if (wasmApi.validate(bytes)) return true
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd')
    return wasmApi.validate(bytes)
  } catch {
    return false
  }
}

/** The variants this thread can run, fastest first; 'simd' is always among them. */
export function availableSvdKernelVariants(): SvdKernelVariant[] {
  return relaxedSimdAvailable() ? ['relaxed-simd', 'simd'] : ['simd']
}

/**
 * For tests and benchmarks: run `variant` from the next call on (undefined: the fastest available). Drops
 * the current instance. Throws if this thread cannot run it.
 */
export function useSvdKernelVariant(variant: SvdKernelVariant | undefined): void {
  if (variant && !availableSvdKernelVariants().includes(variant)) throw new Error(`SVD kernel variant ${variant} is not available here`)
  forcedVariant = variant
  releaseSvdKernel()
}

/** The variant svdKernel() runs (or will run, if no call has made an instance yet). */
export function svdKernelVariant(): SvdKernelVariant {
  return kernelVariant ?? forcedVariant ?? availableSvdKernelVariants()[0]
}

export function svdKernel(): SvdKernel {
  if (!kernel) {
    const variant = forcedVariant ?? availableSvdKernelVariants()[0]
    const module = new wasmApi.Module(variantBytes(variant))
    kernel = new wasmApi.Instance(module, {}).exports as unknown as SvdKernel
    kernelVariant = variant
  }
  return kernel
}

/**
 * Drops this thread's kernel instance so that its memory can be garbage collected (WebAssembly memory
 * never shrinks: after one 4096×4096 SVD a worker would otherwise hold ~2 GB). The next svd() makes a new one.
 */
export function releaseSvdKernel(): void {
  kernel = undefined
  kernelVariant = undefined
}

/** Bytes of linear memory the kernel holds in this thread (it grows to the largest call, then is reused). */
export function svdKernelMemoryBytes(): number {
  return svdKernel().memory.buffer.byteLength
}
