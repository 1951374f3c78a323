/**
 * Modules the engine imports for paths the GPU host never takes: CUDA detection (child_process), the
 * wasm SVD's V8 flag, sharp's image decoding, Dawn. Each export says so when called.
 */
function unsupported(what: string): never {
  throw new Error(`${what} is not available in the GPU training window (text tasks only; image decoding and native backends run in the training worker)`)
}
export const execFileSync = (): never => unsupported('child_process')
export const setFlagsFromString = (): void => undefined
export const createRequire = (): never => unsupported('require')
export const create = (): never => unsupported("Dawn's webgpu package")
export const globals = {}
export const performance = globalThis.performance
const sharp = (): never => unsupported('sharp (image decoding)')
export default sharp
