// The GPU bench bundle's entry (scripts/build-gpu-bench.mjs bundles it with dawn.node and tfjs's wasm files):
// bench:train's SiVA step on webgpu and on wasm on the same machine, on a BERT-base-wide checkpoint with
// random weights written at run time, so a GPU machine without npm or registry access can run it.
//   node siva-gpu-bench.js [--steps 3] [--layers 4] [--batch 8] [--length 64] [--perc 0.1] [--software] [--keep]
// Each backend runs in a child process of this same file (tfjs holds one backend per process).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { adapterName, probeWebGpuAdapter } from '../../src/main/engine/backend/webgpu'
import { ensureBertCheckpoint } from '../bertCheckpoint'
import { measureStep, type StepMeasurement } from '../trainStep'
import { dawnFolder } from './platform'

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    model: { type: 'string' },
    steps: { type: 'string', default: '3' },
    layers: { type: 'string', default: '4' },
    batch: { type: 'string', default: '8' },
    length: { type: 'string', default: '64' },
    perc: { type: 'string', default: '0.1' },
    software: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false }
  }
})

const numberOption = (name: 'steps' | 'layers' | 'batch' | 'length' | 'perc', integer = true): number => {
  const value = Number(values[name])
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, not ${values[name]}`)
  return value
}
const shape = { steps: numberOption('steps'), layers: numberOption('layers'), batch: numberOption('batch'), length: numberOption('length'), perc: numberOption('perc', false) }
const self = fileURLToPath(import.meta.url)

if (values.child) {
  process.stdout.write(`${JSON.stringify(await child(values.child, values.model!))}\n`)
  // Dawn's instance keeps the event loop alive; the measurement is out.
  process.exit(0)
} else {
  try {
    await main()
  } catch (error) {
    console.error(`siva-gpu-bench: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  }
}

/** One backend's measurement, in this (child) process. */
async function child(backend: string, modelDir: string): Promise<StepMeasurement> {
  if (backend === 'webgpu') {
    const probe = await probeWebGpuAdapter(process.platform)
    if ('reason' in probe) throw new Error(probe.reason)
    // Forcing webgpu accepts a software adapter; the bench refuses one unless asked, so that a machine whose
    // GPU driver is missing does not print a CPU's Vulkan figure as the GPU's.
    if (probe.adapter.fallback && !values.software) throw new Error(`the only WebGPU adapter is a software one, ${adapterName(probe.adapter)}, not a GPU: install the GPU's Vulkan driver (Linux), or pass --software to measure it anyway`)
  }
  if (backend !== 'webgpu' && backend !== 'wasm') throw new Error(`--child must be webgpu or wasm, not ${backend}`)
  return measureStep({ modelDir, phase: 'siva', batch: shape.batch, length: shape.length, steps: shape.steps, perc: shape.perc, backend })
}

function runChild(backend: 'webgpu' | 'wasm', modelDir: string): StepMeasurement {
  process.stderr.write(`${backend} siva…\n`)
  const args = [self, '--child', backend, '--model', modelDir, ...['steps', 'layers', 'batch', 'length', 'perc'].flatMap((name) => [`--${name}`, String(shape[name as keyof typeof shape])]), ...(values.software ? ['--software'] : [])]
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'pipe'] })
  if (run.status !== 0) {
    const lines = (run.stderr || String(run.error ?? run.signal)).trim().split('\n')
    // The error's own line, not the stack under it.
    const message = lines.find((line) => /^(Error|\w+Error):/.test(line)) ?? lines.pop()
    throw new Error(`the ${backend} step failed: ${message}`)
  }
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as StepMeasurement
}

async function main(): Promise<void> {
  const dawn = dawnFolder(process.platform, process.arch)
  if (!existsSync(join(self, '..', 'dist', dawn, 'dawn.node'))) {
    throw new Error(`this bundle carries no dawn.node for ${dawn} (looked in ${join(self, '..', 'dist', dawn)}): build it with node scripts/build-gpu-bench.mjs --platform ${dawn}`)
  }
  const modelDir = mkdtempSync(join(tmpdir(), 'siva-gpu-bench-'))
  try {
    await ensureBertCheckpoint(modelDir, shape.layers, (line) => process.stderr.write(`${line}\n`))
    const webgpu = runChild('webgpu', modelDir)
    const wasm = runChild('wasm', modelDir)
    const adapter = webgpu.adapter!
    const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`
    console.log(`\nGPU bench — ${new Date().toISOString()}, Node ${process.version}, ${process.platform}-${process.arch}, ${availableParallelism()} CPU threads`)
    console.log(`SiVA step (bench:train's), BERT-base width, ${plural(shape.layers, 'layer')}, batch ${shape.batch} × ${shape.length} tokens, perc ${shape.perc}, median of ${plural(shape.steps, 'timed step')} after one warm-up`)
    console.log(`adapter: vendor ${adapter.vendor || '?'}, architecture ${adapter.architecture || '?'}, description ${adapter.description || '?'}${adapter.fallback ? ' — a software adapter (Vulkan on the CPU, not a GPU)' : ''}; maxStorageBufferBindingSize ${(adapter.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB, maxBufferSize ${(adapter.maxBufferSize / 2 ** 20).toFixed(0)} MiB`)
    console.log('backend   s/step   peak RSS MiB  threads')
    for (const r of [webgpu, wasm]) console.log(`${r.backend!.padEnd(8)} ${r.secondsPerStep.toFixed(3).padStart(7)} ${r.peakRssMiB.toFixed(0).padStart(14)} ${String(r.backend === 'webgpu' ? '-' : r.threads).padStart(8)}`)
    console.log(`webgpu / wasm: ${(webgpu.secondsPerStep / wasm.secondsPerStep).toFixed(2)} (below 1: webgpu is faster)`)
  } finally {
    if (values.keep) process.stderr.write(`checkpoint kept in ${modelDir}\n`)
    else rmSync(modelDir, { recursive: true, force: true })
  }
}
