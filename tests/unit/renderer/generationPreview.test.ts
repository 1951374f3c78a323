// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { setActivePinia } from 'pinia'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ExportOptionsSummary } from '@shared/exportOptions'
import { methods, type GenerationPreview as Preview, type RunSummary } from '@shared/api'
import GenerationPreview from '@renderer/components/GenerationPreview.vue'
import { useAppStore } from '@renderer/stores/app'
import { useRunStore } from '@renderer/stores/run'
import ExportView from '@renderer/views/ExportView.vue'
import { FakeApi, setApi } from './fakeApi'

vi.mock('@renderer/api', () => import('./fakeApi'))

// The Train and Export steps' generation preview over the transport seam (fakeApi.ts): what it asks the back
// end for, how it shows the streamed continuations and the finished preview, Cancel, and the bounds the
// request schema in src/shared/api.ts holds the back end to.

let wrapper: VueWrapper | undefined
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})

function mountPreview(api: FakeApi, props: Record<string, unknown> = {}): VueWrapper {
  setApi(api)
  wrapper = mount(GenerationPreview, { props: { runId: 'run-3', ...props }, attachTo: document.body })
  return wrapper
}

const finishedPreview: Preview = {
  model: '/models/qwen',
  promptTokens: 5,
  base: { text: ' a test of', tokens: 3, stoppedBy: 'length', seconds: 0.5 },
  adapted: { text: ' the end.', tokens: 4, stoppedBy: 'eos', seconds: 0.25, checkpoint: { name: 'step-00000008', step: 8 } }
}

describe('GenerationPreview', () => {
  it('streams the base and then the adapted continuation, and shows tokens per second when done', async () => {
    const api = new FakeApi()
    const w = mountPreview(api, { checkpoint: 'last' })
    const button = w.get('[data-testid="generation-generate"]')
    expect(button.attributes('disabled')).toBeDefined() // no prompt yet
    await w.get('[data-testid="generation-prompt"]').setValue('Hello world, this is')
    await w.get('[data-testid="generation-max-tokens"]').setValue(12)
    await button.trigger('click')
    const stream = api.last('generatePreview')
    expect(stream.params).toEqual({ runId: 'run-3', checkpoint: 'last', prompt: 'Hello world, this is', maxNewTokens: 12 })
    await flushPromises()
    expect(w.get('[data-testid="generation-stage"]').text()).toBe('The base model continues…')
    expect(w.get('[data-testid="generation-generate"]').attributes('disabled')).toBeDefined()

    stream.emit({ type: 'text', side: 'base', text: ' a', tokens: 1 })
    await flushPromises()
    expect(w.get('[data-testid="generation-base"]').text()).toContain('Hello world, this is a')
    expect(w.get('[data-testid="generation-base-note"]').text()).toBe('1 token so far')
    stream.emit({ type: 'stage', stage: 'restore' })
    stream.emit({ type: 'stage', stage: 'adapted' })
    stream.emit({ type: 'text', side: 'adapted', text: ' the', tokens: 1 })
    await flushPromises()
    expect(w.get('[data-testid="generation-stage"]').text()).toBe('The adapted model continues…')
    expect(w.get('[data-testid="generation-adapted"]').text()).toContain('Hello world, this is the')

    stream.emit({ type: 'result', preview: finishedPreview })
    stream.end()
    await flushPromises()
    expect(w.find('[data-testid="generation-stage"]').exists()).toBe(false)
    expect(w.find('[data-testid="generation-cancel"]').exists()).toBe(false)
    expect(w.get('[data-testid="generation-base-note"]').text()).toBe('3 tokens · reached the token limit · 6.0 tokens/s')
    const adapted = w.get('[data-testid="generation-adapted"]')
    expect(adapted.text()).toContain('Adapted (checkpoint step 8)')
    expect(adapted.text()).toContain('Hello world, this is the end.')
    expect(w.get('[data-testid="generation-adapted-note"]').text()).toBe('4 tokens · stopped at end of text · 16.0 tokens/s')
  })

  it('cancels by closing the stream, and shows a back-end error', async () => {
    const api = new FakeApi()
    const w = mountPreview(api)
    await w.get('[data-testid="generation-prompt"]').setValue('Once')
    await w.get('[data-testid="generation-generate"]').trigger('click')
    const first = api.last('generatePreview')
    expect(first.params).toEqual({ runId: 'run-3', prompt: 'Once', maxNewTokens: 32 })
    first.emit({ type: 'text', side: 'base', text: ' upon', tokens: 1 })
    await flushPromises()
    await w.get('[data-testid="generation-cancel"]').trigger('click')
    expect(first.closed).toBe(true)
    expect(w.get('[data-testid="generation-cancelled"]').text()).toBe('Cancelled.')
    expect(w.get('[data-testid="generation-base"]').text()).toContain('Once upon') // what came before Cancel stays

    await w.get('[data-testid="generation-generate"]').trigger('click')
    const second = api.last('generatePreview')
    expect(second).not.toBe(first)
    second.end('run-3: the run trained a classify model; generation needs a causal-lm run')
    await flushPromises()
    expect(w.get('[data-testid="generation-error"]').text()).toContain('generation needs a causal-lm run')
    expect(w.find('[data-testid="generation-cancelled"]').exists()).toBe(false)
  })

  it('stops when the run changes, and while the run trains offers no Generate', async () => {
    const api = new FakeApi()
    const w = mountPreview(api)
    await w.get('[data-testid="generation-prompt"]').setValue('Once')
    await w.get('[data-testid="generation-generate"]').trigger('click')
    await w.setProps({ runId: 'run-4' })
    expect(api.last('generatePreview').closed).toBe(true)
    await w.setProps({ unavailable: 'Generation runs once the run has finished or been cancelled.' })
    expect(w.get('[data-testid="generation-generate"]').attributes('disabled')).toBeDefined()
    expect(w.get('[data-testid="generation-unavailable"]').text()).toContain('finished or been cancelled')
  })

  it('keeps Generate off outside the bounds the back end accepts, which its schema holds', async () => {
    const w = mountPreview(new FakeApi())
    await w.get('[data-testid="generation-prompt"]').setValue('Once')
    for (const count of [0, 257, 2.5]) {
      await w.get('[data-testid="generation-max-tokens"]').setValue(count)
      expect(w.get('[data-testid="generation-generate"]').attributes('disabled'), String(count)).toBeDefined()
    }
    await w.get('[data-testid="generation-max-tokens"]').setValue(256)
    expect(w.get('[data-testid="generation-generate"]').attributes('disabled')).toBeUndefined()
    const schema = methods.generatePreview.params
    expect(schema.safeParse({ runId: 'run-3', prompt: 'Once', maxNewTokens: 256 }).success).toBe(true)
    for (const bad of [
      { runId: 'run-3', prompt: '', maxNewTokens: 8 },
      { runId: 'run-3', prompt: 'x'.repeat(4001), maxNewTokens: 8 },
      { runId: 'run-3', prompt: 'Once', maxNewTokens: 257 },
      { runId: 'run-3', prompt: 'Once', maxNewTokens: 0 },
      { runId: '../elsewhere', prompt: 'Once', maxNewTokens: 8 },
      { runId: 'run-3', prompt: 'Once', maxNewTokens: 8, model: '/somewhere' }
    ]) {
      expect(schema.safeParse(bad).success, JSON.stringify(bad).slice(0, 80)).toBe(false)
    }
  })
})

describe('the Export step’s generation preview', () => {
  const finished: RunSummary = { id: 'run-9', dir: '/runs/run-9', created: '2025-01-01T00:00:00Z', model: '/models/qwen', data: '/d', task: 'causal-lm', method: 'siva', status: 'finished', step: 8 }
  const lmOptions = {
    runId: 'run-9',
    facts: { method: 'siva', task: 'causal-lm', model: { format: 'safetensors', modelType: 'qwen2', transformers: true, transformersClass: 'Qwen2ForCausalLM' } },
    outputs: { merged: { available: true }, adapter: { available: true }, 'peft-lora': { available: true }, report: { available: true } },
    checkpoints: [{ name: 'step-00000008', step: 8 }],
    last: { name: 'step-00000008', step: 8 },
    baseModel: '/models/qwen'
  } as ExportOptionsSummary

  it('is there for a causal-lm run with a checkpoint, and adapts with the checkpoint chosen above it', async () => {
    const api = new FakeApi({ listRuns: () => [finished], exportOptions: () => lmOptions })
    setApi(api)
    const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
    setActivePinia(pinia)
    useAppStore().info = { name: 'SiVA Studio', version: '0', versions: {}, platform: 'linux', runsDir: '/runs' }
    useRunStore().attach('run-9', finished)
    wrapper = mount(ExportView, { global: { plugins: [pinia] }, attachTo: document.body })
    await flushPromises()
    await wrapper.get('[data-testid="generation-prompt"]').setValue('Hello')
    await wrapper.get('[data-testid="generation-generate"]').trigger('click')
    expect(api.last('generatePreview').params).toEqual({ runId: 'run-9', checkpoint: 'last', prompt: 'Hello', maxNewTokens: 32 })
  })
})
