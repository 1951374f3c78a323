import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { gpuHostFile, gpuHostSwitches, gpuHostUrl } from '../../src/main/services/gpuHostPage'

describe("the GPU window's page rules", () => {
  const bundle = join('/', 'app', 'out', 'gpuHost')

  it('serves the bundled page and its scripts, and nothing else', () => {
    expect(gpuHostFile(bundle, gpuHostUrl)).toBe(join(bundle, 'index.html'))
    expect(gpuHostFile(bundle, 'siva-gpu://host/chunk-AB12.js')).toBe(join(bundle, 'chunk-AB12.js'))
    expect(gpuHostFile(bundle, 'siva-gpu://host/../../main/index.js')).toBeUndefined()
    expect(gpuHostFile(bundle, 'siva-gpu://host/%2e%2e%2fmain%2findex.js')).toBeUndefined()
    expect(gpuHostFile(bundle, 'siva-gpu://host/sub/page.js')).toBeUndefined()
    expect(gpuHostFile(bundle, 'siva-gpu://host/secret.json')).toBeUndefined()
    expect(gpuHostFile(bundle, 'siva-gpu://other/index.html')).toBeUndefined()
    expect(gpuHostFile(bundle, 'file:///app/out/gpuHost/index.html')).toBeUndefined()
    expect(gpuHostFile(bundle, 'not a url')).toBeUndefined()
  })

  it('turns on WebGPU with Vulkan on Linux only', () => {
    expect(gpuHostSwitches('linux')).toEqual([['enable-unsafe-webgpu'], ['enable-features', 'Vulkan']])
    expect(gpuHostSwitches('darwin')).toEqual([])
    expect(gpuHostSwitches('win32')).toEqual([])
  })
})
