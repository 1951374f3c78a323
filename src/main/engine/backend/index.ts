import * as tf from '@tensorflow/tfjs'
import { installFastMatMul } from './fastMatMul'

/**
 * Which TensorFlow.js backend runs training, chosen once per process: CUDA through tfjs-node-gpu, else
 * libtensorflow on the CPU through tfjs-node, else WebAssembly (SIMD), else plain JavaScript. The two
 * native packages are optional dependencies that fail to install where libtensorflow cannot be
 * downloaded; each step down says why, so the app and the CLI can show it.
 */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu'

export const backendOrder: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']

/** The optional native packages, fastest first, and the backend each gives. */
export const nativePackages = [
  { name: 'tensorflow-gpu', specifier: '@tensorflow/tfjs-node-gpu' },
  { name: 'tensorflow', specifier: '@tensorflow/tfjs-node' }
] as const satisfies readonly { name: BackendName; specifier: string }[]

/** Why a native backend is passed over when its package is missing (shown by the CLI and the app). */
export function notInstalledReason(specifier: string): string {
  return `${specifier} is not installed (an optional dependency: its install downloads libtensorflow)`
}

export interface BackendChoice {
  name: BackendName
  /** tfjs's own name for it ('tensorflow' for both native packages). */
  tfBackend: string
  /** Each backend tried before the chosen one, and why it was passed over. */
  skipped: { name: BackendName; reason: string }[]
  /** CUDA devices seen (tfjs-node-gpu only). */
  gpu?: string
  /** wasm only: which matrix multiply runs (ours, see fastMatMul.ts, unless SIVA_TFJS_MATMUL=1). */
  matmul?: 'siva relaxed-simd' | 'siva simd' | 'tfjs'
}

let chosen: BackendChoice | undefined

/**
 * Choose and initialise the backend. `preferred` 'auto' (default) walks the order above; a named backend
 * is required, and failing to start it is an error that says why. Calling again returns the first choice:
 * tfjs holds one backend per process.
 */
export async function selectBackend(preferred: BackendName | 'auto' = 'auto'): Promise<BackendChoice> {
  if (chosen) {
    if (preferred !== 'auto' && preferred !== chosen.name) throw new Error(`the ${chosen.name} backend is already running in this process; cannot switch to ${preferred}`)
    return chosen
  }
  const candidates = preferred === 'auto' ? backendOrder : [preferred]
  const skipped: BackendChoice['skipped'] = []
  for (const name of candidates) {
    try {
      const choice = await start(name)
      chosen = { ...choice, skipped }
      return chosen
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error)
      if (preferred !== 'auto') throw new Error(`the ${name} backend cannot start: ${reason}`, { cause: error })
      skipped.push({ name, reason })
    }
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`)
}

async function start(name: BackendName): Promise<Omit<BackendChoice, 'skipped'>> {
  switch (name) {
    case 'tensorflow-gpu': {
      await importOptional('@tensorflow/tfjs-node-gpu')
      await activate('tensorflow')
      return { name, tfBackend: 'tensorflow', gpu: 'CUDA (tfjs-node-gpu)' }
    }
    case 'tensorflow':
      await importOptional('@tensorflow/tfjs-node')
      await activate('tensorflow')
      return { name, tfBackend: 'tensorflow' }
    case 'wasm': {
      await import('@tensorflow/tfjs-backend-wasm')
      await activate('wasm')
      const matmul = process.env['SIVA_TFJS_MATMUL'] === '1' ? 'tfjs' : (`siva ${installFastMatMul()}` as const)
      return { name, tfBackend: 'wasm', matmul }
    }
    case 'cpu':
      await activate('cpu')
      return { name, tfBackend: 'cpu' }
  }
}

async function importOptional(specifier: string): Promise<void> {
  try {
    await import(specifier)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new Error(notInstalledReason(specifier), { cause: error })
    throw error
  }
}

async function activate(backend: string): Promise<void> {
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') refused`)
  await tf.ready()
}
