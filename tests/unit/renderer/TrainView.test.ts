// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { trainConfigInput, type RunSummary, type TrainConfigInput } from '@shared/api'
import type { GpuAdapterSummary, TrainEvent } from '@shared/training'
import { useAppStore } from '@renderer/stores/app'
import { useDataStore } from '@renderer/stores/data'
import { useModelStore } from '@renderer/stores/model'
import { useRunStore } from '@renderer/stores/run'
import TrainView from '@renderer/views/TrainView.vue'
import { FakeApi, setApi } from './fakeApi'
import { usableCheck } from './dataChecks'
import { bertSummary } from './fixtures'
import { config, shortRun } from './trainEvents'

vi.mock('@renderer/api', () => import('./fakeApi'))

const summary = (status: RunSummary['status']): RunSummary => ({ id: 'run-1', dir: '/runs/run-1', created: '', model: '/m', data: '/d.csv', task: 'classify', method: 'siva', status, step: 0 })

/** SwiftShader as Dawn describes it on this machine (adapter.info and limits, measured). */
const swiftshader: GpuAdapterSummary = { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver', fallback: true, host: 'dawn', maxStorageBufferBindingSize: 2 ** 30, maxBufferSize: 2 ** 30 }
const softwareReason = 'only a software adapter, google swiftshader (SwiftShader driver): it runs on the CPU, where wasm is faster (choose the webgpu backend to use it anyway)'

let api: FakeApi
let wrapper: VueWrapper | undefined

beforeEach(() => {
  api = setApi(
    new FakeApi({
      openModel: () => bertSummary(2),
      checkData: usableCheck,
      startRun: () => summary('queued'),
      cancelRun: () => summary('running'),
      pauseRun: () => summary('paused'),
      resumeRun: () => summary('running')
    })
  )
})
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})

/** The Train view of a run that has prepared and taken two steps. */
async function runningView(): Promise<VueWrapper> {
  const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
  setActivePinia(pinia)
  await useModelStore().open('/m')
  useDataStore().path = '/d.csv'
  await useDataStore().check()
  wrapper = mount(TrainView, { attachTo: document.body, global: { plugins: [pinia], stubs: { BaseChart: true } } })
  await wrapper.get('form').trigger('submit')
  await flushPromises()
  const stream = api.last('runEvents')
  for (const event of shortRun().slice(0, 5)) stream.emit({ type: 'event', event })
  useRunStore().flush()
  await flushPromises()
  return wrapper
}

describe('the Train view', () => {
  it('shows the run’s progress, speed and status', async () => {
    const w = await runningView()
    expect(api.callsOf('startRun')).toHaveLength(1)
    expect(w.get('[data-testid="train-status"]').text()).toContain('step 2 of 4')
    expect(w.get('[data-testid="train-status"]').attributes('data-status')).toBe('running')
    expect(w.get('[data-testid="train-steps"]').text()).toBe('2 / 4')
    expect(w.get('[data-testid="train-speed"]').text()).toBe('10 it/s')
    expect((w.get('[data-testid="train-progress"]').element as HTMLProgressElement).value).toBe(2)
    expect(w.find('[data-testid="loss-chart"]').exists()).toBe(true)
    expect(w.find('[data-testid="spectrum-chart"]').exists()).toBe(true)
    expect(w.get('[data-testid="train-start"]').attributes('disabled')).toBeDefined()
  })

  it('cancels only after confirmation', async () => {
    const w = await runningView()
    await w.get('[data-testid="train-cancel"]').trigger('click')
    const dialog = w.get('[data-testid="confirm-dialog"]')
    expect(dialog.attributes('role')).toBe('alertdialog')
    expect(dialog.attributes('aria-modal')).toBe('true')
    await flushPromises()
    // Focus starts on the answer that keeps the run going.
    expect(document.activeElement?.getAttribute('data-testid')).toBe('confirm-dismiss')
    expect(api.callsOf('cancelRun')).toEqual([])

    await w.get('[data-testid="confirm-dismiss"]').trigger('click')
    expect(w.find('[data-testid="confirm-dialog"]').exists()).toBe(false)
    await w.get('[data-testid="train-cancel"]').trigger('click')
    await w.get('[data-testid="confirm-dialog"]').trigger('keydown', { key: 'Escape' })
    expect(w.find('[data-testid="confirm-dialog"]').exists()).toBe(false)
    expect(api.callsOf('cancelRun')).toEqual([])

    await w.get('[data-testid="train-cancel"]').trigger('click')
    await w.get('[data-testid="confirm-accept"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('cancelRun')).toEqual([{ runId: 'run-1' }])
  })

  it('pauses and resumes', async () => {
    const w = await runningView()
    expect(w.find('[data-testid="train-resume"]').exists()).toBe(false)
    await w.get('[data-testid="train-pause"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('pauseRun')).toEqual([{ runId: 'run-1' }])
    await w.get('[data-testid="train-resume"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('resumeRun')).toEqual([{ runId: 'run-1' }])
    expect(w.find('[data-testid="train-pause"]').exists()).toBe(true)
  })
})

describe('the Train view’s backend choice', () => {
  async function formView(): Promise<VueWrapper> {
    const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
    setActivePinia(pinia)
    await useModelStore().open('/m')
    useDataStore().path = '/d.csv'
    await useDataStore().check()
    wrapper = mount(TrainView, { attachTo: document.body, global: { plugins: [pinia], stubs: { BaseChart: true } } })
    return wrapper
  }

  /** The config the store sent to the api layer, checked against the schema the back end validates it with. */
  function sentConfig(): TrainConfigInput {
    const [request] = api.callsOf('startRun') as { config: TrainConfigInput }[]
    return trainConfigInput.parse(request!.config)
  }

  it('offers Auto by default, with a hint per choice, and Start sends it', async () => {
    const w = await formView()
    const select = w.get<HTMLSelectElement>('[data-testid="train-backend"]')
    expect(select.element.value).toBe('auto')
    expect(select.findAll('option').map((o) => [o.element.value, o.text()])).toEqual([
      ['auto', 'Auto (recommended)'],
      ['webgpu', 'WebGPU'],
      ['wasm', 'WebAssembly'],
      ['cpu', 'CPU (JavaScript)'],
      ['tensorflow-gpu', 'TensorFlow GPU (CUDA)'],
      ['tensorflow', 'TensorFlow CPU']
    ])
    expect(w.get('[data-testid="train-backend-hint"]').text()).toContain('never a software WebGPU adapter')
    await select.setValue('wasm')
    expect(w.get('[data-testid="train-backend-hint"]').text()).toContain('WebAssembly')
    await select.setValue('auto')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(sentConfig().backend).toBe('auto')
  })

  it('choosing WebGPU makes the started config carry webgpu, and says when auto would pass over this machine’s software adapter', async () => {
    const w = await formView()
    useAppStore().info = { name: 'SiVA Studio', version: '0.1.0', versions: {}, platform: 'linux-x64', backend: { name: 'wasm', matmul: 'siva', skipped: [{ name: 'webgpu', reason: softwareReason }], adapter: swiftshader } }
    await flushPromises()
    expect(w.get('[data-testid="train-backend-hint"]').text()).toContain('On this machine: wasm (CPU, WebAssembly).')
    await w.get('[data-testid="train-backend"]').setValue('webgpu')
    const hint = w.get('[data-testid="train-backend-hint"]').text()
    expect(hint).toContain('Runs on the GPU through WebGPU (Metal, D3D12, Vulkan); a software adapter is used if no GPU is found')
    expect(hint).toContain(`Auto passes it over here: ${softwareReason}`)
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(sentConfig().backend).toBe('webgpu')
    expect(useRunStore().backend).toBe('webgpu')
  })

  it('shows the backend the run really started on, with its adapter', async () => {
    const w = await formView()
    await w.get('[data-testid="train-backend"]').setValue('webgpu')
    await w.get('form').trigger('submit')
    await flushPromises()
    const [started, ...rest] = shortRun()
    const stream = api.last('runEvents')
    stream.emit({ type: 'event', event: { ...started!, type: 'started', config: { ...config, backend: 'webgpu' }, backend: { name: 'webgpu', skipped: [], adapter: swiftshader } } as TrainEvent })
    for (const event of rest.slice(0, 1)) stream.emit({ type: 'event', event })
    useRunStore().flush()
    await flushPromises()
    const shown = w.get('[data-testid="train-started-backend"]')
    expect(shown.get('[data-testid="backend-name"]').text()).toBe('webgpu')
    expect(shown.get('[data-testid="backend-runs-on"]').text()).toBe('· CPU, WebGPU software adapter')
    expect(shown.get('[data-testid="backend-adapter-name"]').text()).toBe('WebGPU · google swiftshader (SwiftShader driver)')
    expect(shown.get('[data-testid="backend-adapter-limits"]').text()).toBe('max storage buffer binding 1 GiB · max buffer 1 GiB')
    // The form is locked while the run trains.
    expect(w.get('[data-testid="train-backend"]').element.closest('fieldset')!.hasAttribute('disabled')).toBe(true)
  })
})
