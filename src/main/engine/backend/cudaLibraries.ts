import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The CUDA libraries @tensorflow/tfjs-node-gpu 4.22 needs, and where this machine has them.
 *
 * tfjs-node 4.22 bundles libtensorflow 2.9.1 (tfjs-node/scripts/deps-constants.js), which TensorFlow built
 * against CUDA 11.2 and cuDNN 8.1 (tensorflow.org/install/source, "Tested build configurations"). Before it
 * registers a GPU, TensorFlow dlopens each library below by its versioned name; when any is missing it logs
 * "Cannot dlopen some GPU libraries" and silently runs on the CPU (stream_executor dlopen_checker.cc). The
 * names are the ones that build looks for: any CUDA 11.x ≥ 11.2 and cuDNN 8.x ≥ 8.1 provide them.
 */
export const cudaRequirement = {
  libtensorflow: '2.9.1',
  cuda: '11.2',
  cudnn: '8.1',
  /** NVIDIA's minimum driver for CUDA 11.x under minor-version compatibility. */
  driver: { linux: '450.80.02', win32: '452.39' }
} as const

export interface CudaLibrary {
  /** The file TensorFlow opens: a Linux soname or a Windows DLL. */
  file: string
  /** What provides it, in the words an install guide uses. */
  provides: string
  /** The NVIDIA driver's own library rather than one of the CUDA toolkit's. */
  driver?: true
}

const linuxLibraries: CudaLibrary[] = [
  { file: 'libcuda.so.1', provides: 'the NVIDIA driver', driver: true },
  { file: 'libcudart.so.11.0', provides: 'CUDA 11 runtime' },
  { file: 'libcublas.so.11', provides: 'cuBLAS (CUDA 11)' },
  { file: 'libcublasLt.so.11', provides: 'cuBLASLt (CUDA 11)' },
  { file: 'libcufft.so.10', provides: 'cuFFT (CUDA 11)' },
  { file: 'libcurand.so.10', provides: 'cuRAND (CUDA 11)' },
  { file: 'libcusolver.so.11', provides: 'cuSOLVER (CUDA 11)' },
  { file: 'libcusparse.so.11', provides: 'cuSPARSE (CUDA 11)' },
  { file: 'libcudnn.so.8', provides: 'cuDNN 8' }
]

const windowsLibraries: CudaLibrary[] = [
  { file: 'nvcuda.dll', provides: 'the NVIDIA driver', driver: true },
  { file: 'cudart64_110.dll', provides: 'CUDA 11 runtime' },
  { file: 'cublas64_11.dll', provides: 'cuBLAS (CUDA 11)' },
  { file: 'cublasLt64_11.dll', provides: 'cuBLASLt (CUDA 11)' },
  { file: 'cufft64_10.dll', provides: 'cuFFT (CUDA 11)' },
  { file: 'curand64_10.dll', provides: 'cuRAND (CUDA 11)' },
  { file: 'cusolver64_11.dll', provides: 'cuSOLVER (CUDA 11)' },
  { file: 'cusparse64_11.dll', provides: 'cuSPARSE (CUDA 11)' },
  { file: 'cudnn64_8.dll', provides: 'cuDNN 8' }
]

/** The libraries TensorFlow 2.9 opens on `platform`; none on macOS, which has no CUDA. */
export function cudaLibrariesFor(platform: NodeJS.Platform): readonly CudaLibrary[] {
  if (platform === 'linux') return linuxLibraries
  if (platform === 'win32') return windowsLibraries
  return []
}

export interface FoundLibrary extends CudaLibrary {
  /** Where it resolves; absent when it does not. */
  path?: string
}

export interface CudaLibraryScan {
  platform: NodeJS.Platform
  libraries: FoundLibrary[]
  /** Where the search looked, in the loader's order. */
  searched: string[]
}

/**
 * `ldconfig -p` output → soname → path, keeping only entries the running process can load (a 64-bit
 * process cannot dlopen the 32-bit copies some distributions also list).
 */
export function parseLdconfigCache(text: string, arch: string = process.arch): Map<string, string> {
  const wanted = arch === 'x64' ? /x86-64/ : arch === 'arm64' ? /AArch64/i : /./
  const cache = new Map<string, string>()
  for (const line of text.split('\n')) {
    const match = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S.*?)\s*$/.exec(line)
    if (!match || !wanted.test(match[2]!) || cache.has(match[1]!)) continue
    cache.set(match[1]!, match[3]!)
  }
  return cache
}

/**
 * Resolve each library as the loader would: first the folders in `folders` (LD_LIBRARY_PATH on Linux; the
 * system folder and PATH on Windows), then the linker cache. Pure: the file system comes in as `exists`.
 */
export function findLibraries(libraries: readonly CudaLibrary[], folders: readonly string[], cache: ReadonlyMap<string, string>, exists: (path: string) => boolean, joinPath: (folder: string, file: string) => string = join): FoundLibrary[] {
  return libraries.map((library) => {
    for (const folder of folders) {
      const candidate = joinPath(folder, library.file)
      if (exists(candidate)) return { ...library, path: candidate }
    }
    const cached = cache.get(library.file)
    return cached ? { ...library, path: cached } : { ...library }
  })
}

/** The folders searched before the linker cache, from the environment, in the loader's order. */
export function searchFolders(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  const list = (value: string | undefined, separator: string): string[] => (value ?? '').split(separator).filter((folder) => folder.length > 0)
  if (platform === 'win32') {
    const systemRoot = env['SystemRoot'] ?? env['SYSTEMROOT'] ?? 'C:\\Windows'
    return [`${systemRoot}\\System32`, ...list(env['PATH'] ?? env['Path'], ';')]
  }
  // ld.so: LD_LIBRARY_PATH, then /etc/ld.so.cache (read separately), then the trusted folders.
  return list(env['LD_LIBRARY_PATH'], ':')
}

const trustedLinuxFolders = ['/lib64', '/usr/lib64', '/lib', '/usr/lib']

/** Where this machine has each CUDA library TensorFlow 2.9 opens (Linux and Windows; empty elsewhere). */
export function scanCudaLibraries(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): CudaLibraryScan {
  const libraries = cudaLibrariesFor(platform)
  if (libraries.length === 0) return { platform, libraries: [], searched: [] }
  const folders = searchFolders(platform, env)
  if (platform === 'win32') return { platform, libraries: findLibraries(libraries, folders, new Map(), existsSync), searched: folders }
  const cache = readLinkerCache()
  const fallback = cache ? [] : trustedLinuxFolders
  return {
    platform,
    libraries: findLibraries(libraries, [...folders, ...fallback], cache ?? new Map(), existsSync),
    searched: [...folders, ...(cache ? ['the ldconfig cache'] : trustedLinuxFolders)]
  }
}

/** `ldconfig -p`, or undefined where there is no ldconfig (it often sits outside a user's PATH, in /sbin). */
function readLinkerCache(): Map<string, string> | undefined {
  for (const ldconfig of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      return parseLdconfigCache(execFileSync(ldconfig, ['-p'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }))
    } catch {
      // not this one; try the next place ldconfig lives
    }
  }
  return undefined
}

export interface NvidiaGpu {
  name: string
  driver: string
}

/** `nvidia-smi --query-gpu=name,driver_version --format=csv,noheader` → one entry per GPU. */
export function parseNvidiaSmi(text: string): NvidiaGpu[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const cut = line.lastIndexOf(',')
      return cut < 0 ? { name: line, driver: '' } : { name: line.slice(0, cut).trim(), driver: line.slice(cut + 1).trim() }
    })
}

/** The NVIDIA GPUs the driver reports, or undefined where nvidia-smi does not run (no driver, or not on PATH). */
export function listNvidiaGpus(): NvidiaGpu[] | undefined {
  try {
    return parseNvidiaSmi(execFileSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }))
  } catch {
    return undefined
  }
}
