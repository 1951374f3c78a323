import { describe, expect, it } from 'vitest'
import { cudaLibrariesFor, type FoundLibrary } from '../../../src/main/engine/backend/cudaLibraries'
import { gpuDeviceSeen, importFailureReason, installCommand, missingCudaReason, noGpuReason, notInstalledReason, type GpuEvidence } from '../../../src/main/engine/backend/reasons'

/** Every Linux CUDA library found, except those named. */
function linuxLibraries(...missing: string[]): FoundLibrary[] {
  return cudaLibrariesFor('linux').map((library) => (missing.includes(library.file) ? { ...library } : { ...library, path: `/usr/local/cuda/lib64/${library.file}` }))
}
const linux = (overrides: Partial<GpuEvidence> = {}): GpuEvidence => ({ platform: 'linux', arch: 'x64', libraries: linuxLibraries(), gpus: [{ name: 'NVIDIA H200', driver: '550.54.15' }], ...overrides })

describe('why a native package is not used', () => {
  it('not installed: says so with the install command pinned to our TensorFlow.js version', () => {
    expect(installCommand('@tensorflow/tfjs-node-gpu')).toBe('npm i @tensorflow/tfjs-node-gpu@4.22.0')
    const gpu = notInstalledReason('@tensorflow/tfjs-node-gpu', 'linux', 'x64')
    expect(gpu).toContain('@tensorflow/tfjs-node-gpu is not installed')
    expect(gpu).toContain('install it with: npm i @tensorflow/tfjs-node-gpu@4.22.0')
    expect(gpu).toContain('CUDA 11.2 and cuDNN 8.1')
    expect(notInstalledReason('@tensorflow/tfjs-node', 'darwin', 'arm64')).toContain('install it with: npm i @tensorflow/tfjs-node@4.22.0')
  })

  it('where tfjs-node-gpu has no CUDA build, no install command is offered', () => {
    for (const [platform, arch] of [['darwin', 'arm64'], ['linux', 'arm64'], ['darwin', 'x64']] as const) {
      const reason = notInstalledReason('@tensorflow/tfjs-node-gpu', platform, arch)
      expect(reason).toContain(`nothing to install for ${platform}-${arch}`)
      expect(reason).not.toContain('npm i')
    }
  })

  it('tells a missing package from one that is there but does not load', () => {
    const absent = Object.assign(new Error("Cannot find package '@tensorflow/tfjs-node-gpu' imported from /app/src/main/engine/backend/index.ts"), { code: 'ERR_MODULE_NOT_FOUND' })
    expect(importFailureReason('@tensorflow/tfjs-node-gpu', absent)).toMatch(/^@tensorflow\/tfjs-node-gpu is not installed .*npm i @tensorflow\/tfjs-node-gpu@4\.22\.0/)
    // A dependency of the package is missing: the package is installed, broken.
    const innerMissing = Object.assign(new Error("Cannot find module '@mapbox/node-pre-gyp'\nRequire stack:\n- /app/node_modules/@tensorflow/tfjs-node-gpu/dist/index.js"), { code: 'MODULE_NOT_FOUND' })
    expect(importFailureReason('@tensorflow/tfjs-node-gpu', innerMissing)).toBe("@tensorflow/tfjs-node-gpu is installed but failed to load: Cannot find module '@mapbox/node-pre-gyp'")
    const addon = new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory\n    at Module._extensions..node')
    expect(importFailureReason('@tensorflow/tfjs-node', addon)).toBe('@tensorflow/tfjs-node is installed but failed to load: libtensorflow.so.2: cannot open shared object file: No such file or directory')
    expect(importFailureReason('@tensorflow/tfjs-node', 'thrown text')).toBe('@tensorflow/tfjs-node is installed but failed to load: thrown text')
  })
})

describe('why tfjs-node-gpu finds no GPU', () => {
  it('nothing missing: no reason, so the GPU is predicted', () => {
    expect(missingCudaReason(linux())).toBeUndefined()
    expect(missingCudaReason(linux({ gpus: undefined }))).toBeUndefined()
    expect(missingCudaReason(linux({ visibleDevices: '0,1' }))).toBeUndefined()
  })

  it('names exactly the CUDA libraries that are missing and the versions needed', () => {
    const reason = missingCudaReason(linux({ libraries: linuxLibraries('libcudart.so.11.0', 'libcudnn.so.8') }))
    expect(reason).toBe(
      'CUDA libraries missing: libcudart.so.11.0 (CUDA 11 runtime), libcudnn.so.8 (cuDNN 8); TensorFlow 2.9.1 in tfjs-node-gpu needs CUDA 11.2 or a later 11.x and cuDNN 8.1 or a later 8.x (docs/gpu.md)'
    )
    const windows = cudaLibrariesFor('win32').map((library) => (library.file === 'cudnn64_8.dll' ? { ...library } : { ...library, path: `C:\\CUDA\\bin\\${library.file}` }))
    expect(missingCudaReason({ platform: 'win32', arch: 'x64', libraries: windows })).toMatch(/^CUDA libraries missing: cudnn64_8\.dll \(cuDNN 8\);/)
  })

  it('a missing driver comes before missing toolkit libraries, with the minimum driver', () => {
    expect(missingCudaReason(linux({ libraries: linuxLibraries('libcuda.so.1', 'libcublas.so.11') }))).toBe('no NVIDIA driver: libcuda.so.1 was not found (CUDA 11.2 needs driver 450.80.02 or newer)')
    const windows = cudaLibrariesFor('win32').map((library) => ({ ...library }))
    expect(missingCudaReason({ platform: 'win32', arch: 'x64', libraries: windows })).toContain('nvcuda.dll was not found (CUDA 11.2 needs driver 452.39 or newer)')
  })

  it('CUDA_VISIBLE_DEVICES that hides every GPU, macOS, non-x64, and an empty nvidia-smi list each say so', () => {
    expect(missingCudaReason(linux({ visibleDevices: '' }))).toBe("CUDA_VISIBLE_DEVICES='' hides every GPU from TensorFlow")
    expect(missingCudaReason(linux({ visibleDevices: '-1' }))).toBe("CUDA_VISIBLE_DEVICES='-1' hides every GPU from TensorFlow")
    expect(missingCudaReason({ platform: 'darwin', arch: 'arm64', libraries: [] })).toContain('macOS has no CUDA')
    expect(missingCudaReason(linux({ arch: 'arm64' }))).toContain('CUDA builds only for x64; on linux-arm64')
    expect(missingCudaReason(linux({ gpus: [] }))).toBe('nvidia-smi lists no NVIDIA GPU')
  })

  it('after loading: the missing piece when there is one, else that TensorFlow itself refused the GPU', () => {
    expect(noGpuReason(linux({ libraries: linuxLibraries('libcusparse.so.11') }))).toMatch(/^CUDA libraries missing: libcusparse\.so\.11 /)
    expect(noGpuReason(linux())).toMatch(/^TensorFlow found no CUDA device although the driver lists NVIDIA H200 and every CUDA library resolves/)
    expect(noGpuReason(linux({ gpus: undefined }))).toMatch(/^TensorFlow found no CUDA device although every CUDA library resolves/)
  })

  it("reads tfjs-node's isUsingGpuDevice from the backend, and says when a backend does not tell", () => {
    expect(gpuDeviceSeen({ isUsingGpuDevice: true })).toBe(true)
    expect(gpuDeviceSeen({ isUsingGpuDevice: false, isGPUPackage: true })).toBe(false)
    expect(gpuDeviceSeen({})).toBeUndefined()
    expect(gpuDeviceSeen(undefined)).toBeUndefined()
  })
})
