// One training step, timed for each method on the same model and batch, against the same SiVA step in
// Debian's PyTorch on the CPU, measured in the same run; peak memory against inference of the batch; and
// the SiVA step on the webgpu backend (on a software adapter, at a smaller shape: see webgpuRows).
// Each measurement runs in a fresh process (clean peak RSS; tfjs holds one backend per process).
//   npm run bench:train [-- --layers 4 --batch 8 --length 64 --steps 3 --perc 0.1 --rounds 1]
//                       [-- --webgpu-layers 1 --webgpu-batch 2 --webgpu-steps 1 | --no-webgpu]
// --rounds N repeats the one-thread pair (SiVA here, SiVA in PyTorch) N times, alternating, and reports the
// median of the N ratios: on a noisy VM a single pair can be off by 15% either way.
// PyTorch runs on the best OpenBLAS kernels this CPU supports (bench/blasCore.ts) and says which it used.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { BackendName } from '../src/main/engine/backend'
import { adapterName } from '../src/main/engine/backend/webgpu'
import type { GpuAdapterSummary } from '../src/shared/training'
import { ensureBertCheckpoint } from './bertCheckpoint'
import { blasEnv, describeBlas, type OpenBlasInfo } from './blasCore'
import { loadNote } from './load'
import { median } from './median'
import { measureStep, type StepMeasurement } from './trainStep'

const root = fileURLToPath(new URL('..', import.meta.url))
const python = '/usr/bin/python3'
const swiftShaderIcd = '/usr/lib/chromium/vk_swiftshader_icd.json'
const { values } = parseArgs({
  options: {
    phase: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    layers: { type: 'string', default: '4' },
    batch: { type: 'string', default: '8' },
    length: { type: 'string', default: '64' },
    steps: { type: 'string', default: '3' },
    perc: { type: 'string', default: '0.1' },
    rounds: { type: 'string', default: '1' },
    'webgpu-layers': { type: 'string', default: '1' },
    'webgpu-batch': { type: 'string', default: '2' },
    'webgpu-steps': { type: 'string', default: '1' },
    'no-webgpu': { type: 'boolean', default: false }
  }
})
const layers = Number(values.layers)
const batch = Number(values.batch)
const length = Number(values.length)
const steps = Number(values.steps)
const perc = Number(values.perc)
const rounds = Math.max(1, Math.floor(Number(values.rounds)))
const modelDirFor = (layerCount: number): string => join(root, `bench/.tmp/bert-random-${layerCount}l`)

interface Measurement extends Omit<StepMeasurement, 'times'> {
  openblas?: OpenBlasInfo | null
  blas?: string
}
interface Shape {
  layers: number
  batch: number
  steps: number
}

if (values.phase === 'probe-webgpu') {
  const { probeWebGpuAdapter } = await import('../src/main/engine/backend/webgpu')
  process.stdout.write(`${JSON.stringify(await probeWebGpuAdapter(process.platform))}\n`)
  process.exit(0)
} else if (values.phase) {
  const measured = await measureStep({ modelDir: modelDirFor(layers), phase: values.phase, batch, length, steps, perc, backend: values.backend as BackendName | 'auto' })
  process.stdout.write(`${JSON.stringify(measured)}\n`)
  // Dawn's instance keeps the event loop alive; the measurement is out.
  process.exit(0)
} else {
  await ensureBertCheckpoint(modelDirFor(layers), layers, (line) => process.stderr.write(`${line}\n`))
  const loadAtStart = loadNote()
  const results: Measurement[] = []
  const cores = availableParallelism()
  const phases: { phase: string; label: string; threads?: number }[] = [
    ...['inference', 'head', 'siva', 'lora', 'full'].map((phase) => ({ phase, label: phase })),
    ...(cores > 1 ? [{ phase: 'siva', label: 'siva (1T)', threads: 1 }] : [])
  ]
  const blas = blasEnv(python)
  const pytorch = (threads: number): Measurement => {
    process.stderr.write(`pytorch siva (${threads}T)…\n`)
    const args = [join(root, 'bench/torch_train_step.py'), modelDirFor(layers), String(batch), String(length), String(steps), String(perc), String(threads)]
    // One thread means OpenBLAS's too: its pthread pool does not follow torch.set_num_threads.
    const env = threads === 1 ? { ...blas.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' } : blas.env
    const out = JSON.parse(execFileSync(python, args, { encoding: 'utf8', env })) as { seconds_per_step: number; peak_rss_mib: number; threads: number; openblas: OpenBlasInfo | null }
    return { phase: `pytorch siva (${out.threads}T)`, secondsPerStep: out.seconds_per_step, peakRssMiB: out.peak_rss_mib, threads: out.threads, openblas: out.openblas, blas: describeBlas(out.openblas, blas) }
  }
  for (const { phase, label, threads } of phases) results.push(ours(phase, label, { threads }))
  for (const threads of [...new Set([1, cores])]) results.push(pytorch(threads))
  const by = (phase: string): Measurement => results.find((r) => r.phase === phase)!
  const siva = by('siva')
  const torchOne = by('pytorch siva (1T)')
  const sivaOne = results.find((r) => r.phase === 'siva (1T)') ?? siva
  // Further one-thread pairs, alternating, for the median ratio (the first pair is the table's).
  const pairRatios = [sivaOne.secondsPerStep / torchOne.secondsPerStep]
  for (let round = 2; round <= rounds; round++) {
    const mine = cores > 1 ? ours('siva', `siva (1T), round ${round}`, { threads: 1 }) : ours('siva', `siva, round ${round}`)
    pairRatios.push(mine.secondsPerStep / pytorch(1).secondsPerStep)
  }
  const webgpu = values['no-webgpu'] ? { note: 'webgpu: not run (--no-webgpu)' } : await webgpuRows()

  const row = (r: Measurement, base: Measurement): string =>
    `${r.phase.padEnd(22)} ${r.secondsPerStep.toFixed(3).padStart(7)} ${r.peakRssMiB.toFixed(0).padStart(14)} ${(r.trainable ?? '').toString().padStart(11)} ${(r.secondsPerStep / base.secondsPerStep).toFixed(2).padStart(10)} ${String(r.threads ?? '').padStart(8)}`
  const header = 'phase                   s/step   peak RSS MiB   trainable     vs siva  threads'
  console.log(`\ntrain bench — ${new Date().toISOString().slice(0, 10)}, BERT-base width, ${layers} layers, batch ${batch} × ${length} tokens, SiVA perc ${perc} on query+value, backend ${siva.backend}`)
  console.log(`at the start: ${loadAtStart}; at the end: ${loadNote()}`)
  console.log(header)
  for (const r of results) console.log(row(r, siva))
  for (const r of results.filter((r) => r.blas)) console.log(`  ${r.phase}: ${r.blas}`)
  console.log(`\nSiVA step / head-only step: ${(siva.secondsPerStep / by('head').secondsPerStep).toFixed(2)} (target ≤ 1.15)`)
  console.log(`SiVA step / PyTorch SiVA step, one thread each: ${(sivaOne.secondsPerStep / torchOne.secondsPerStep).toFixed(2)} (target ≤ 4, aim 2; PyTorch on OpenBLAS core ${torchOne.openblas?.corename ?? 'unknown'})`)
  if (rounds > 1) console.log(`  over ${rounds} alternating one-thread pairs: median ${median(pairRatios).toFixed(2)} (each: ${pairRatios.map((r) => r.toFixed(2)).join(', ')})`)
  const torchAll = results.find((r) => r.phase === `pytorch siva (${cores}T)`)
  if (cores > 1 && torchAll) {
    console.log(`SiVA step / PyTorch SiVA step, ${cores} threads each (PyTorch's default here): ${(siva.secondsPerStep / torchAll.secondsPerStep).toFixed(2)}`)
    // What a user of each gets at its best thread count on this machine (PyTorch is often fastest on one).
    const fastest = (rows: Measurement[]): Measurement => rows.reduce((best, r) => (r.secondsPerStep < best.secondsPerStep ? r : best))
    const ourBest = fastest([siva, sivaOne])
    const torchBest = fastest([torchOne, torchAll])
    console.log(`SiVA step / PyTorch SiVA step, each at its fastest thread count (${ourBest.threads}T vs ${torchBest.threads}T): ${(ourBest.secondsPerStep / torchBest.secondsPerStep).toFixed(2)}`)
  }
  if (cores > 1) console.log(`SiVA step, ${siva.threads} threads / one thread: ${(siva.secondsPerStep / sivaOne.secondsPerStep).toFixed(2)}`)
  console.log(`SiVA peak RSS / inference peak RSS: ${(siva.peakRssMiB / by('inference').peakRssMiB).toFixed(2)}`)
  console.log('')
  console.log(webgpu.note)
  if ('rows' in webgpu) {
    console.log(header.replace('vs siva', 'vs wasm'))
    for (const r of webgpu.rows) console.log(row(r, webgpu.rows[1]!))
    console.log(`webgpu SiVA step / wasm SiVA step, same shape: ${(webgpu.rows[0]!.secondsPerStep / webgpu.rows[1]!.secondsPerStep).toFixed(2)}`)
  }
}

/** One row, measured in a fresh process (`--phase`): its own backend, clean peak RSS. */
function ours(phase: string, label: string, options: { threads?: number; backend?: string; shape?: Shape; env?: NodeJS.ProcessEnv } = {}): Measurement {
  process.stderr.write(`${label}…\n`)
  const shape = options.shape ?? { layers, batch, steps }
  const env = { ...(options.env ?? process.env), ...(options.threads && { SIVA_GEMM_THREADS: String(options.threads) }) }
  const args = ['--phase', phase, '--backend', options.backend ?? 'auto', '--layers', String(shape.layers), '--batch', String(shape.batch), '--length', String(length), '--steps', String(shape.steps), '--perc', String(perc)]
  const run = spawnSync(process.execPath, [join(root, 'bin/run-ts.mjs'), 'bench/train.ts', ...args], { cwd: root, encoding: 'utf8', env, maxBuffer: 1 << 26 })
  if (run.status !== 0) throw new Error(`${label} failed:\n${run.stderr}`)
  return { ...(JSON.parse(run.stdout.trim().split('\n').pop()!) as Measurement), phase: label }
}

/**
 * The SiVA step on webgpu, in its own process. On a hardware adapter it runs at the table's shape; on a
 * software one (SwiftShader: Vulkan on the CPU, about 20 s for a 1-layer, 2 × 64 step here, minutes for
 * the full one) at --webgpu-layers/--webgpu-batch/--webgpu-steps, beside wasm at the same shape so the
 * ratio compares like with like. Without any adapter, the reason instead of a row.
 */
async function webgpuRows(): Promise<{ note: string; rows?: never } | { note: string; rows: Measurement[] }> {
  const env = webgpuEnv()
  if ('reason' in env) return { note: `webgpu: not run: ${env.reason}` }
  const adapterText = `${describe(env.adapter)}${env.adapter.fallback ? ' — a software adapter (Vulkan on the CPU, not a GPU)' : ''}`
  const shape: Shape = env.adapter.fallback ? { layers: Number(values['webgpu-layers']), batch: Number(values['webgpu-batch']), steps: Number(values['webgpu-steps']) } : { layers, batch, steps }
  await ensureBertCheckpoint(modelDirFor(shape.layers), shape.layers, (line) => process.stderr.write(`${line}\n`))
  const shapeText = `${shape.layers} layer${shape.layers === 1 ? '' : 's'}, batch ${shape.batch} × ${length} tokens, median of ${shape.steps} timed step${shape.steps === 1 ? '' : 's'} after one warm-up`
  const why = env.adapter.fallback && (shape.layers !== layers || shape.batch !== batch) ? `, smaller than the table's because a full-shape step on a software adapter takes minutes` : ''
  try {
    const rows = [
      ours('siva', 'webgpu siva', { backend: 'webgpu', shape, env: env.env }),
      // wasm on one thread at the same shape: the CPU baseline a software adapter competes with.
      ours('siva', 'wasm siva (1T)', { backend: 'wasm', shape, threads: 1 })
    ]
    return { note: `webgpu on ${adapterText}${env.forced ? ` (forced: VK_ICD_FILENAMES=${swiftShaderIcd}, as no hardware adapter was found)` : ''}\n  at ${shapeText}${why}`, rows }
  } catch (error) {
    return { note: `webgpu: failed on ${adapterText}: ${error instanceof Error ? error.message.split('\n').slice(0, 3).join(' ') : String(error)}` }
  }

}

function describe(adapter: GpuAdapterSummary): string {
  return `${adapterName(adapter)}, maxStorageBufferBindingSize ${(adapter.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB`
}

/**
 * The environment for the webgpu child: as it is where Dawn finds an adapter (a GPU machine: Vulkan's own
 * drivers, VK_ICD_FILENAMES left unset); else, where Chromium's SwiftShader is installed, pointed at it,
 * with a private XDG_RUNTIME_DIR (Dawn's Vulkan loader wants a writable one).
 */
function webgpuEnv(): { env: NodeJS.ProcessEnv; adapter: GpuAdapterSummary; forced: boolean } | { reason: string } {
  const probe = (env: NodeJS.ProcessEnv): { adapter: GpuAdapterSummary } | { reason: string } => {
    const run = spawnSync(process.execPath, [join(root, 'bin/run-ts.mjs'), 'bench/train.ts', '--phase', 'probe-webgpu'], { cwd: root, encoding: 'utf8', env, timeout: 120_000 })
    if (run.status !== 0) return { reason: `the adapter probe failed: ${(run.stderr || String(run.error ?? run.signal)).trim().split('\n').pop()}` }
    return JSON.parse(run.stdout.trim().split('\n').pop()!) as { adapter: GpuAdapterSummary } | { reason: string }
  }
  const own = probe(process.env)
  // A Vulkan driver you chose yourself is the one measured, whatever it is.
  const yours = process.env['VK_ICD_FILENAMES']
  if (yours) return 'adapter' in own ? { env: process.env, adapter: own.adapter, forced: false } : { reason: `${own.reason} (with your VK_ICD_FILENAMES=${yours})` }
  if ('adapter' in own && !own.adapter.fallback) return { env: process.env, adapter: own.adapter, forced: false }
  if (!existsSync(swiftShaderIcd)) return 'adapter' in own ? { env: process.env, adapter: own.adapter, forced: false } : { reason: `${own.reason}; and no SwiftShader at ${swiftShaderIcd} to fall back on` }
  const env = { ...process.env, VK_ICD_FILENAMES: swiftShaderIcd, XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), 'siva-bench-xdg-')) }
  const soft = probe(env)
  if ('adapter' in soft) return { env, adapter: soft.adapter, forced: true }
  return 'adapter' in own ? { env: process.env, adapter: own.adapter, forced: false } : { reason: `${own.reason}; with SwiftShader: ${soft.reason}` }
}
