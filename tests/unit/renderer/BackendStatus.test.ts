// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import type { AppInfo } from '@shared/api'
import type { GpuAdapterSummary } from '@shared/training'
import { reasonHeadline } from '@renderer/lib/backends'
import { formatBinaryBytes } from '@renderer/lib/format'
import BackendStatus from '@renderer/components/BackendStatus.vue'
import ModelView from '@renderer/views/ModelView.vue'
import { useAppStore } from '@renderer/stores/app'
import { useModelStore } from '@renderer/stores/model'
import { FakeApi, setApi } from './fakeApi'
import { bertSummary } from './fixtures'

vi.mock('@renderer/api', () => import('./fakeApi'))

const gpuReason = '@tensorflow/tfjs-node-gpu is not installed (an optional dependency: its install downloads libtensorflow); install it with: npm i @tensorflow/tfjs-node-gpu@4.22.0'
const cpuReason = '@tensorflow/tfjs-node is not installed (an optional dependency: its install downloads libtensorflow); install it with: npm i @tensorflow/tfjs-node@4.22.0'
const wasm: AppInfo['backend'] = { name: 'wasm', matmul: 'siva', threads: 8, skipped: [{ name: 'tensorflow-gpu', reason: gpuReason }, { name: 'tensorflow', reason: cpuReason }] }

/** SwiftShader as Dawn reports it here (measured: vendor google, architecture swiftshader, isFallbackAdapter, 1 GiB binding). */
const swiftshader: GpuAdapterSummary = { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver', fallback: true, host: 'dawn', maxStorageBufferBindingSize: 2 ** 30, maxBufferSize: 2 ** 32 - 4 }
const softwareReason = 'only a software adapter, google swiftshader (SwiftShader driver): it runs on the CPU, where wasm is faster (choose the webgpu backend to use it anyway)'
const appleGpu: GpuAdapterSummary = { vendor: 'apple', architecture: 'metal-3', description: 'Apple M2', fallback: false, host: 'chromium', maxStorageBufferBindingSize: 3 * 2 ** 29, maxBufferSize: 4 * 2 ** 30 }

describe('BackendStatus', () => {
  it('names the backend and, the GPU not used, gives its reason in a line and every skipped one in the details', () => {
    const w = mount(BackendStatus, { props: { backend: wasm } })
    expect(w.get('[data-testid="backend-name"]').text()).toBe('wasm')
    expect(w.text()).toContain('CPU, WebAssembly')
    expect(w.text()).toContain('8 threads')
    expect(w.get('[data-testid="backend-gpu-reason"]').text()).toBe('GPU not used: @tensorflow/tfjs-node-gpu is not installed (an optional dependency: its install downloads libtensorflow)')
    const details = w.get('[data-testid="backend-skipped"]')
    expect(details.element.tagName).toBe('DETAILS')
    expect(details.get('summary').text()).toBe('2 faster backends skipped')
    expect(w.findAll('[data-testid="backend-skipped-item"]').map((item) => item.text())).toEqual([`tensorflow-gpu: ${gpuReason}`, `tensorflow: ${cpuReason}`])
  })

  it('a CUDA reason keeps its list of missing libraries in the line', () => {
    const reason = 'CUDA libraries missing: libcudart.so.11.0 (CUDA 11 runtime), libcudnn.so.8 (cuDNN 8); TensorFlow 2.9.1 in tfjs-node-gpu needs CUDA 11.2 or a later 11.x and cuDNN 8.1 or a later 8.x (docs/gpu.md)'
    const w = mount(BackendStatus, { props: { backend: { name: 'tensorflow', skipped: [{ name: 'tensorflow-gpu', reason }] } } })
    expect(w.get('[data-testid="backend-gpu-reason"]').text()).toBe('GPU not used: CUDA libraries missing: libcudart.so.11.0 (CUDA 11 runtime), libcudnn.so.8 (cuDNN 8)')
    expect(w.get('summary').text()).toBe('1 faster backend skipped')
    expect(w.get('[data-testid="backend-skipped-item"]').text()).toContain('cuDNN 8.1 or a later 8.x')
  })

  it('the GPU training: no reason and nothing to expand; no backend known: a dash', () => {
    const gpu = mount(BackendStatus, { props: { backend: { name: 'tensorflow-gpu', skipped: [] } } })
    expect(gpu.text()).toContain('GPU, CUDA')
    expect(gpu.find('[data-testid="backend-gpu-reason"]').exists()).toBe(false)
    expect(gpu.find('details').exists()).toBe(false)
    expect(mount(BackendStatus, { props: { backend: undefined } }).text()).toBe('–')
  })

  it('is what the Model step shows for the backend the app info reports', async () => {
    setApi(new FakeApi({ recentModels: () => [] }))
    const w = mount(ModelView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })
    useAppStore().info = { name: 'SiVA Studio', version: '0.1.0', versions: {}, platform: 'linux-x64', backend: { ...wasm!, adapter: swiftshader } }
    useModelStore().summary = bertSummary(1)
    await flushPromises()
    const cell = w.get('[data-testid="model-backend"]')
    expect(cell.get('[data-testid="backend-name"]').text()).toBe('wasm')
    expect(cell.get('[data-testid="backend-gpu-reason"]').text()).toContain('tfjs-node-gpu is not installed')
    expect(cell.get('[data-testid="backend-adapter-name"]').text()).toBe('WebGPU · google swiftshader (SwiftShader driver)')
  })

  it('a hardware WebGPU adapter: the GPU named with its limits, and no reason', () => {
    const w = mount(BackendStatus, { props: { backend: { name: 'webgpu', skipped: [{ name: 'tensorflow-gpu', reason: gpuReason }], adapter: appleGpu } } })
    expect(w.get('[data-testid="backend-runs-on"]').text()).toBe('· GPU, WebGPU')
    expect(w.get('[data-testid="backend-adapter-name"]').text()).toBe('WebGPU · apple metal-3 (Apple M2)')
    expect(w.get('[data-testid="backend-adapter"]').text()).toContain('Chromium’s WebGPU')
    expect(w.find('[data-testid="backend-adapter-software"]').exists()).toBe(false)
    // 3 × 512 MiB and 4 GiB, in the binary units GPU limits are set in.
    expect(w.get('[data-testid="backend-adapter-limits"]').text()).toBe('max storage buffer binding 1.5 GiB · max buffer 4 GiB')
    expect(w.find('[data-testid="backend-gpu-reason"]').exists()).toBe(false)
  })

  it('wasm beside a software adapter: the adapter shown as software, and WebGPU’s reason is the GPU line', () => {
    const w = mount(BackendStatus, { props: { backend: { ...wasm!, skipped: [...wasm!.skipped, { name: 'webgpu', reason: softwareReason }], adapter: swiftshader } } })
    expect(w.get('[data-testid="backend-name"]').text()).toBe('wasm')
    expect(w.get('[data-testid="backend-adapter-name"]').text()).toBe('WebGPU · google swiftshader (SwiftShader driver)')
    expect(w.get('[data-testid="backend-adapter-software"]').text()).toBe('· software adapter')
    expect(w.get('[data-testid="backend-adapter"]').text()).toContain('Dawn')
    // 2³² − 4 bytes is just under 4 GiB: three significant digits round it to 4.
    expect(w.get('[data-testid="backend-adapter-limits"]').text()).toBe('max storage buffer binding 1 GiB · max buffer 4 GiB')
    expect(w.get('[data-testid="backend-gpu-reason"]').text()).toBe(`GPU not used: ${softwareReason}`)
    expect(w.get('summary').text()).toBe('3 faster backends skipped')
    expect(w.findAll('[data-testid="backend-skipped-item"]').map((item) => item.text())).toContain(`webgpu: ${softwareReason}`)
  })

  it('webgpu forced onto a software adapter: it says the run is on the CPU', () => {
    const w = mount(BackendStatus, { props: { backend: { name: 'webgpu', skipped: [], threads: 1, adapter: swiftshader } } })
    expect(w.get('[data-testid="backend-threads"]').text()).toBe('· 1 thread')
    expect(w.get('[data-testid="backend-runs-on"]').text()).toBe('· CPU, WebGPU software adapter')
    expect(w.find('[data-testid="backend-adapter-software"]').exists()).toBe(true)
    expect(w.get('[data-testid="backend-gpu-reason"]').text()).toContain('a software adapter runs on the CPU')
    expect(w.find('details').exists()).toBe(false)
  })

  it('formats sizes in binary units', () => {
    expect([0, 1023, 1024, 128 * 2 ** 20, 2 ** 30, 2 ** 31 + 2 ** 30, 2 ** 40].map(formatBinaryBytes)).toEqual(['0 B', '1023 B', '1 KiB', '128 MiB', '1 GiB', '3 GiB', '1 TiB'])
    expect(formatBinaryBytes(undefined)).toBe('–')
  })

  it('no WebGPU adapter: the engine’s reason in the line, never cut inside its parentheses', () => {
    // The engine's reason on Linux with no Vulkan driver (noAdapterReason in engine/backend/webgpu.ts).
    const reason = "no WebGPU adapter: Dawn found no Vulkan driver (install the Vulkan loader, libvulkan1 on Debian/Ubuntu, and your GPU vendor's Vulkan driver; docs/gpu.md shows how to test with the SwiftShader software driver)"
    const w = mount(BackendStatus, { props: { backend: { ...wasm!, skipped: [...wasm!.skipped, { name: 'webgpu', reason }] } } })
    const line = w.get('[data-testid="backend-gpu-reason"]').text()
    expect(line).toBe(`GPU not used: ${reason}`)
    expect(line.split('(').length).toBe(line.split(')').length)
    expect(w.find('[data-testid="backend-adapter"]').exists()).toBe(false)
  })

  it('a reason’s headline ends at the first "; " outside parentheses', () => {
    expect(reasonHeadline('a (b; c) d; e; f')).toBe('a (b; c) d')
    expect(reasonHeadline('no clause break (x; y)')).toBe('no clause break (x; y)')
    expect(reasonHeadline(gpuReason)).toBe('@tensorflow/tfjs-node-gpu is not installed (an optional dependency: its install downloads libtensorflow)')
  })
})
