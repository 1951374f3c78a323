// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import type { AppInfo } from '@shared/api'
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
    useAppStore().info = { name: 'SiVA Studio', version: '0.1.0', versions: {}, platform: 'linux-x64', backend: wasm }
    useModelStore().summary = bertSummary(1)
    await flushPromises()
    const cell = w.get('[data-testid="model-backend"]')
    expect(cell.get('[data-testid="backend-name"]').text()).toBe('wasm')
    expect(cell.get('[data-testid="backend-gpu-reason"]').text()).toContain('tfjs-node-gpu is not installed')
  })
})
