// The compiled SVD kernel (wasm/*.c), instantiated once per thread on first use. Synchronous on purpose:
// analysis workers call svd() inside a message handler, and a 60 KB module compiles in milliseconds.
import { SVD_WASM_BASE64 } from './wasm/svdWasm.generated'

/** The slice of the WebAssembly JS API used here (the project's type libraries do not declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: object }
  RuntimeError: new (message?: string) => Error
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
}

let kernel: SvdKernel | undefined

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

export function svdKernel(): SvdKernel {
  if (!kernel) {
    const module = new wasmApi.Module(decodeBase64(SVD_WASM_BASE64))
    kernel = new wasmApi.Instance(module, {}).exports as unknown as SvdKernel
  }
  return kernel
}

/**
 * Drops this thread's kernel instance so that its memory can be garbage collected (WebAssembly memory
 * never shrinks: after one 4096×4096 SVD a worker would otherwise hold ~2 GB). The next svd() makes a new one.
 */
export function releaseSvdKernel(): void {
  kernel = undefined
}

/** Bytes of linear memory the kernel holds in this thread (it grows to the largest call, then is reused). */
export function svdKernelMemoryBytes(): number {
  return svdKernel().memory.buffer.byteLength
}
