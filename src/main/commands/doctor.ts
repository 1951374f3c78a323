import { version_core as tfjsVersion } from '@tensorflow/tfjs'
import { backendOrder, selectBackend, type BackendChoice, type BackendName } from '../engine/backend'
import { adapterName } from '../engine/backend/webgpu'
import { cudaRequirement, listNvidiaGpus, scanCudaLibraries, type CudaLibraryScan, type NvidiaGpu } from '../engine/backend/cudaLibraries'
import { engineChoiceFromEnvironment, loadTokenizersAddon, tokenizerEngineVariable } from '../engine/data/fastTokenizer'
import { gemmThreadCount } from '../workers/gemmThreads'
import { commonFlags, jsonFlag, parseCommandArgs, printedHelp } from './args'
import pkg from '../../../package.json' with { type: 'json' }

const help = `usage: siva doctor [--json]

Starts the TensorFlow.js backend training would use, as 'siva train' does, and says which one it is:
each backend, fastest first, marked used or skipped with the reason; the matmul threads; the Node.js
and TensorFlow.js versions; and, for the GPU backend (@tensorflow/tfjs-node-gpu), the NVIDIA GPUs and
which of the CUDA libraries TensorFlow needs resolve here (docs/gpu.md says how to install them).

options:
  --json        print exactly one JSON document on stdout
  -h, --help    this help`

export interface DoctorReport {
  versions: { 'siva-studio': string; node: string; tfjs: string }
  platform: string
  /** detail: what runs, for the one used; reason: why, for each one skipped. */
  backends: { name: BackendName; status: 'used' | 'skipped' | 'not tried'; reason?: string; detail?: string }[]
  /** Which matrix multiply runs: SiVA's wasm kernel, tfjs's own, or libtensorflow's. */
  matmul: string
  /** Threads multiplying matrices; null where libtensorflow runs its own pool. */
  matmulThreads: number | null
  /** Which tokenizer engine text is encoded with: Hugging Face's Rust tokenizers, or the JavaScript one (and why). */
  tokenizer: { engine: 'native' | 'js'; detail: string }
  cuda: {
    needs: { cuda: string; cudnn: string; driver: string; libtensorflow: string }
    /** nvidia-smi's list; null when nvidia-smi did not run. */
    gpus: NvidiaGpu[] | null
    visibleDevices: string | null
    libraries: { file: string; provides: string; path: string | null }[]
    searched: string[]
  }
}

/** The report from what selection chose and what the machine shows; pure, so its wording is tested without a GPU. */
export function doctorReport(choice: BackendChoice, facts: { platform: NodeJS.Platform; arch: string; node: string; tfjs: string; gemmThreads: number; scan: CudaLibraryScan; gpus: NvidiaGpu[] | undefined; visibleDevices: string | undefined; tokenizer: DoctorReport['tokenizer'] }): DoctorReport {
  const skipped = new Map(choice.skipped.map((s) => [s.name, s.reason]))
  const backends = backendOrder.map((name): DoctorReport['backends'][number] => {
    if (name === choice.name) return { name, status: 'used', detail: usedDetail(choice) }
    const reason = skipped.get(name)
    return reason === undefined ? { name, status: 'not tried' } : { name, status: 'skipped', reason }
  })
  const native = choice.tfBackend === 'tensorflow'
  const matmul = choice.matmul ?? (native ? 'libtensorflow' : `tfjs ${choice.tfBackend}`)
  const matmulThreads = choice.matmul?.startsWith('siva') ? facts.gemmThreads : native ? null : 1
  return {
    versions: { 'siva-studio': pkg.version, node: facts.node, tfjs: facts.tfjs },
    platform: `${facts.platform}-${facts.arch}`,
    backends,
    matmul,
    matmulThreads,
    tokenizer: facts.tokenizer,
    cuda: {
      needs: { cuda: cudaRequirement.cuda, cudnn: cudaRequirement.cudnn, driver: facts.platform === 'win32' ? cudaRequirement.driver.win32 : cudaRequirement.driver.linux, libtensorflow: cudaRequirement.libtensorflow },
      gpus: facts.gpus ?? null,
      visibleDevices: facts.visibleDevices ?? null,
      libraries: facts.scan.libraries.map((library) => ({ file: library.file, provides: library.provides, path: library.path ?? null })),
      searched: facts.scan.searched
    }
  }
}

function usedDetail(choice: BackendChoice): string {
  switch (choice.name) {
    case 'tensorflow-gpu':
      return `CUDA on ${choice.gpu ?? 'a GPU'} (${choice.nativePackage ?? 'tfjs-node-gpu'})`
    case 'tensorflow':
      return `libtensorflow on the CPU (${choice.nativePackage ?? 'tfjs-node'})`
    case 'webgpu': {
      const adapter = choice.adapter
      if (!adapter) return 'WebGPU'
      const limit = `largest storage buffer ${formatBytes(adapter.maxStorageBufferBindingSize)}`
      return `WebGPU on ${adapterName(adapter)} through ${adapter.host === 'dawn' ? "Dawn (the webgpu package)" : "Chromium"}${adapter.fallback ? ', a software adapter (slow: asked for by name)' : ''}; ${limit}`
    }
    case 'wasm':
      return 'WebAssembly with SIMD'
    case 'cpu':
      return 'plain JavaScript'
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${+(bytes / 2 ** 30).toFixed(1)} GiB` : `${+(bytes / 2 ** 20).toFixed(1)} MiB`
}

/** The report as a person reads it. */
export function formatDoctor(report: DoctorReport): string {
  const lines = [`SiVA Studio ${report.versions['siva-studio']} · Node.js ${report.versions.node} · TensorFlow.js ${report.versions.tfjs} · ${report.platform}`, '', 'Backends, fastest first:']
  const width = Math.max(...report.backends.map((b) => b.name.length))
  for (const backend of report.backends) {
    const text = backend.status === 'used' ? `used: ${backend.detail}` : backend.status === 'skipped' ? `skipped: ${backend.reason}` : 'not tried (a faster one is used)'
    lines.push(`  ${backend.name.padEnd(width)}  ${text}`)
  }
  const threads = report.matmulThreads === null ? "its own thread pool" : `${report.matmulThreads} ${report.matmulThreads === 1 ? 'thread' : 'threads'}${report.matmul.startsWith('siva') ? ' (SIVA_GEMM_THREADS sets how many)' : ''}`
  lines.push('', `Matmul: ${report.matmul}, ${threads}`)
  lines.push(`Tokenizer: ${report.tokenizer.engine === 'native' ? 'native' : 'JavaScript'}, ${report.tokenizer.detail}`)
  const { cuda } = report
  lines.push('', `CUDA, for @tensorflow/tfjs-node-gpu (TensorFlow ${cuda.needs.libtensorflow}: CUDA ${cuda.needs.cuda} or a later 11.x, cuDNN ${cuda.needs.cudnn} or a later 8.x, NVIDIA driver ${cuda.needs.driver} or newer):`)
  if (cuda.libraries.length === 0) {
    lines.push(`  none on ${report.platform}: tfjs-node-gpu has CUDA builds for Linux and Windows on x64 only`)
    return `${lines.join('\n')}\n`
  }
  lines.push(`  NVIDIA GPUs: ${cuda.gpus === null ? 'unknown (nvidia-smi did not run)' : cuda.gpus.length === 0 ? 'none listed by nvidia-smi' : cuda.gpus.map((gpu) => `${gpu.name} (driver ${gpu.driver})`).join(', ')}`)
  if (cuda.visibleDevices !== null) lines.push(`  CUDA_VISIBLE_DEVICES=${cuda.visibleDevices}`)
  const found = cuda.libraries.filter((library) => library.path !== null).length
  lines.push(`  libraries: ${found} of ${cuda.libraries.length} found`)
  const fileWidth = Math.max(...cuda.libraries.map((library) => library.file.length))
  const providesWidth = Math.max(...cuda.libraries.map((library) => library.provides.length))
  for (const library of cuda.libraries) lines.push(`    ${library.file.padEnd(fileWidth)}  ${library.provides.padEnd(providesWidth)}  ${library.path ?? 'not found'}`)
  lines.push(`  searched: ${cuda.searched.length > 0 ? cuda.searched.join(', ') : 'nowhere (no search path set)'}`)
  return `${lines.join('\n')}\n`
}

export async function doctorCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('doctor', { args: argv, allowPositionals: false, options: { ...jsonFlag, help: commonFlags.help } })
  if (printedHelp(values, help)) return 0
  const choice = await selectBackend('auto')
  const report = doctorReport(choice, {
    tokenizer: tokenizerFacts(),
    platform: process.platform,
    arch: process.arch,
    node: process.versions.node,
    tfjs: tfjsVersion,
    gemmThreads: gemmThreadCount(),
    scan: scanCudaLibraries(),
    gpus: listNvidiaGpus(),
    visibleDevices: process.env['CUDA_VISIBLE_DEVICES']
  })
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctor(report))
  return 0
}

/** The tokenizer engine a run here would use (SIVA_TOKENIZER, then whether the addon loads in this process). */
function tokenizerFacts(): DoctorReport['tokenizer'] {
  const { choice, note } = engineChoiceFromEnvironment()
  const suffix = note === undefined ? '' : ` (${note})`
  if (choice === 'js') return { engine: 'js', detail: `as ${tokenizerEngineVariable}=js asks${suffix}` }
  const addon = loadTokenizersAddon()
  if (typeof addon === 'string') return { engine: 'js', detail: `the native addon cannot be used here: ${addon}${suffix}` }
  return { engine: 'native', detail: `Hugging Face tokenizers (Rust) where a checkpoint's tokenizer.json allows it, else JavaScript${suffix}` }
}
