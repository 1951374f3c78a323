import pkg from '../../../../package.json' with { type: 'json' }
import { cudaRequirement, type FoundLibrary, type NvidiaGpu } from './cudaLibraries'

/**
 * Why a faster backend was passed over, as the CLI (`siva doctor`, `siva train`) and the app say it. Pure:
 * every fact comes in as an argument, so each reason is tested without the native packages.
 */

export const gpuPackage = '@tensorflow/tfjs-node-gpu'
export const cpuPackage = '@tensorflow/tfjs-node'

/** The command that installs an optional native package at the version the rest of TensorFlow.js is pinned to. */
export function installCommand(specifier: string): string {
  const optional = pkg.optionalDependencies as Record<string, string>
  return `npm i ${specifier}@${optional[specifier] ?? pkg.dependencies['@tensorflow/tfjs']}`
}

/** tfjs-node-gpu ships CUDA builds only for these (tfjs-node/scripts/deps-constants.js, ALL_SUPPORTED_COMBINATION). */
export function hasCudaBuild(platform: NodeJS.Platform, arch: string): boolean {
  return arch === 'x64' && (platform === 'linux' || platform === 'win32')
}

/** A native package that is not in node_modules, with the command that installs it. */
export function notInstalledReason(specifier: string, platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  if (specifier === gpuPackage && !hasCudaBuild(platform, arch)) {
    return `${specifier} is not installed, and there is nothing to install for ${platform}-${arch}: it has CUDA builds only for Linux and Windows on x64`
  }
  const after = specifier === gpuPackage ? ` (it also needs CUDA ${cudaRequirement.cuda} and cuDNN ${cudaRequirement.cudnn}: see docs/gpu.md)` : ''
  return `${specifier} is not installed (an optional dependency: its install downloads libtensorflow); install it with: ${installCommand(specifier)}${after}`
}

/**
 * Why `import(specifier)` failed: the package itself is absent (not installed), or it is there and its
 * native addon or one of its own dependencies did not load (the first line of that error).
 */
export function importFailureReason(specifier: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const firstLine = message.split('\n')[0]!.trim()
  const code = (error as { code?: unknown } | undefined)?.code
  // A missing dependency *inside* the package is also MODULE_NOT_FOUND; only a message naming the package itself means it is absent.
  const notFound = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
  if (notFound && firstLine.includes(`'${specifier}'`)) return notInstalledReason(specifier)
  return `${specifier} is installed but failed to load: ${firstLine || 'no message'}`
}

/** What is known about CUDA on this machine when tfjs-node-gpu is, or would be, asked for a GPU. */
export interface GpuEvidence {
  platform: NodeJS.Platform
  arch: string
  /** Each CUDA library TensorFlow opens, with its path when it resolves (see cudaLibraries.ts). */
  libraries: readonly FoundLibrary[]
  /** CUDA_VISIBLE_DEVICES, when set. */
  visibleDevices?: string | undefined
  /** The GPUs nvidia-smi lists; undefined when nvidia-smi could not run. */
  gpus?: readonly NvidiaGpu[] | undefined
}

const versionsNeeded = `TensorFlow ${cudaRequirement.libtensorflow} in tfjs-node-gpu needs CUDA ${cudaRequirement.cuda} or a later 11.x and cuDNN ${cudaRequirement.cudnn} or a later 8.x (docs/gpu.md)`

/**
 * Why tfjs-node-gpu cannot reach a GPU here, as far as the machine shows without loading TensorFlow;
 * undefined when nothing is missing. The app's probe uses this to predict; selection uses it to explain.
 */
export function missingCudaReason(evidence: GpuEvidence): string | undefined {
  const { platform, arch, libraries, visibleDevices, gpus } = evidence
  if (platform === 'darwin') return 'macOS has no CUDA: tfjs-node-gpu runs TensorFlow on the CPU there'
  if (!hasCudaBuild(platform, arch)) return `tfjs-node-gpu has CUDA builds only for x64; on ${platform}-${arch} it runs TensorFlow on the CPU`
  if (visibleDevices !== undefined && (visibleDevices.trim() === '' || visibleDevices.trim().startsWith('-'))) {
    return `CUDA_VISIBLE_DEVICES='${visibleDevices}' hides every GPU from TensorFlow`
  }
  const driver = libraries.find((library) => library.driver)
  if (driver && driver.path === undefined) {
    const minimum = platform === 'win32' ? cudaRequirement.driver.win32 : cudaRequirement.driver.linux
    return `no NVIDIA driver: ${driver.file} was not found (CUDA ${cudaRequirement.cuda} needs driver ${minimum} or newer)`
  }
  const missing = libraries.filter((library) => !library.driver && library.path === undefined)
  if (missing.length > 0) return `CUDA libraries missing: ${missing.map((library) => `${library.file} (${library.provides})`).join(', ')}; ${versionsNeeded}`
  if (gpus && gpus.length === 0) return 'nvidia-smi lists no NVIDIA GPU'
  return undefined
}

/** Why TensorFlow, loaded through tfjs-node-gpu, reported no GPU device. */
export function noGpuReason(evidence: GpuEvidence): string {
  const missing = missingCudaReason(evidence)
  if (missing) return missing
  const seen = evidence.gpus && evidence.gpus.length > 0 ? `the driver lists ${evidence.gpus.map((gpu) => gpu.name).join(', ')} and ` : ''
  return `TensorFlow found no CUDA device although ${seen}every CUDA library resolves: its own log lines above say why (for example a cuDNN older than ${cudaRequirement.cudnn}, or a GPU this build cannot run)`
}

/**
 * Whether the 'tensorflow' backend runs on a GPU: tfjs-node's NodeJSKernelBackend copies the binding's
 * isUsingGpuDevice(), which is true when TensorFlow's device list holds a GPU. undefined when the backend
 * does not say (not tfjs-node's, or a version without the flag).
 */
export function gpuDeviceSeen(backend: unknown): boolean | undefined {
  const flag = (backend as { isUsingGpuDevice?: unknown } | null | undefined)?.isUsingGpuDevice
  return typeof flag === 'boolean' ? flag : undefined
}
