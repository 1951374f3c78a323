// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { useLayersStore } from '@renderer/stores/layers'
import { useModelStore } from '@renderer/stores/model'
import LayersView from '@renderer/views/LayersView.vue'
import { FakeApi, setApi } from './fakeApi'
import { bertSummary, spectrum } from './fixtures'

vi.mock('@renderer/api', () => import('./fakeApi'))

let api: FakeApi
let wrapper: VueWrapper | undefined

beforeEach(() => {
  api = setApi(new FakeApi({ openModel: () => bertSummary(4) }))
})
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})

async function view(): Promise<VueWrapper> {
  const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
  setActivePinia(pinia)
  await useModelStore().open('/m')
  wrapper = mount(LayersView, { global: { plugins: [pinia], stubs: { BaseChart: true } } })
  return wrapper
}

function checked(w: VueWrapper): number {
  return w.findAll('[data-testid="layer-select"]').filter((c) => (c.element as HTMLInputElement).checked).length
}

describe('the Layers view', () => {
  it('lists every target with a checkbox, the default selection ticked, and the live count', async () => {
    const w = await view()
    expect(w.findAll('[data-testid="layer-row"]')).toHaveLength(24)
    expect(checked(w)).toBe(8)
    expect(w.get('[data-testid="layers-selected-count"]').text()).toBe('8 of 24 selected')
    expect(w.get('[data-testid="param-count-adapter"]').text()).toBe('8')
    expect(w.get('[data-testid="param-count-lora8"]').text()).toBe('1.02 k') // 8 · 8 · 16 = 1024
    expect(w.get('[data-testid="param-count-full"]').text()).toBe('123 k')
    expect(w.get('[data-testid="layers-preset-default"]').attributes('aria-pressed')).toBe('true')
  })

  it('preset buttons, the pattern field and the block range change the ticked rows and the count', async () => {
    const w = await view()
    await w.get('[data-testid="layers-preset-attention"]').trigger('click')
    expect(checked(w)).toBe(16)
    expect(w.get('[data-testid="layers-preset-attention"]').attributes('aria-pressed')).toBe('true')
    expect(w.get('[data-testid="layers-preset-default"]').attributes('aria-pressed')).toBe('false')
    expect(w.get('[data-testid="param-count-adapter"]').text()).toBe('16')

    const pattern = w.get('[data-testid="layers-pattern"]')
    await pattern.setValue('intermediate\\.dense$')
    expect(checked(w)).toBe(4)
    // 4 matrices 32×8: r = 8, perc 0.1 → 1 each; LoRA r = 8: 8 · 40 each.
    expect(w.get('[data-testid="param-count-adapter"]').text()).toBe('4')
    expect(w.get('[data-testid="param-count-lora8"]').text()).toBe('1.28 k')

    await w.get('[data-testid="layers-block-to"]').setValue('1')
    expect(checked(w)).toBe(2)

    await pattern.setValue('query|(')
    expect(pattern.attributes('aria-invalid')).toBe('true')
    expect(w.text()).toContain('Not a valid pattern')
    expect(checked(w)).toBe(2)
  })

  it('ticks a row by hand, and sets a per-layer k', async () => {
    const w = await view()
    const boxes = w.findAll('[data-testid="layer-select"]')
    await boxes[3]!.setValue(true) // block 0 attention.output
    expect(useLayersStore().selected.has('bert.encoder.layer.0.attention.output.dense')).toBe(true)
    expect(w.get('[data-testid="param-count-adapter"]').text()).toBe('9')
    const k = w.get('input[aria-label^="k for bert.encoder.layer.0.attention.output.dense"]')
    await k.setValue('5')
    expect(w.get('[data-testid="param-count-adapter"]').text()).toBe('13')
  })

  it('switching the method changes what counts', async () => {
    const w = await view()
    await w.get('[data-testid="layers-method"]').setValue('lora')
    expect(w.get('[data-testid="param-count-adapter"]').text()).toBe('1.02 k')
    await w.get('[data-testid="layers-rank"]').setValue('4')
    expect(w.get('[data-testid="param-count-adapter"]').text()).toBe('512')
    await w.get('[data-testid="layers-method"]').setValue('siva')
    await w.get('[data-testid="layers-mode-k"]').setValue(true)
    await w.get('[data-testid="layers-k"]').setValue('2')
    expect(w.get('[data-testid="param-count-adapter"]').text()).toBe('16')
  })

  it('says inline why the engine would refuse a k (fractional or 0) instead of rounding it, and holds Continue', async () => {
    const w = await view()
    await w.get('[data-testid="layers-mode-k"]').setValue(true)
    await w.get('[data-testid="layers-k"]').setValue('2')
    const continueButton = w.findAll('button').find((b) => b.text() === 'Continue to Train')!
    expect(continueButton.attributes('disabled')).toBeUndefined()
    expect(w.find('[data-testid="layers-amount-error"]').exists()).toBe(false)
    await w.get('[data-testid="layers-k"]').setValue('2.5')
    expect(w.get('[data-testid="layers-amount-error"]').text()).toBe('k must be a positive integer, got 2.5')
    expect(w.get('[data-testid="layers-k"]').attributes('aria-invalid')).toBe('true')
    expect(continueButton.attributes('disabled')).toBeDefined()
    // Nothing is counted for a k the engine refuses (it used to count 2, flooring 2.5): the panel says why instead of "0".
    expect(w.find('[data-testid="param-count-adapter"]').exists()).toBe(false)
    expect(w.get('[data-testid="param-count-error"]').text()).toBe('Not counted: k must be a positive integer, got 2.5')
    // The refusal is said once, beside the field, not on every row.
    expect(w.findAll('[data-testid="layer-override-error"]')).toHaveLength(0)
    await w.get('[data-testid="layers-k"]').setValue('0')
    expect(w.get('[data-testid="layers-amount-error"]').text()).toBe('k must be a positive integer, got 0')
    await w.get('[data-testid="layers-k"]').setValue('3')
    expect(w.find('[data-testid="layers-amount-error"]').exists()).toBe(false)
    expect(continueButton.attributes('disabled')).toBeUndefined()
  })

  it('shows each row’s spectrum numbers once analysed, and focuses a row for the large chart', async () => {
    const w = await view()
    expect(w.get('[data-testid="layer-row"]').text()).toContain('analysing')
    const layers = useLayersStore()
    const t = layers.targets[1]!
    api.last('analyseLayers').emit({ type: 'progress', done: 1, total: 24, layer: spectrum(`${t.name}.weight`, t.shape) })
    layers.flush()
    await flushPromises()
    const row = w.get(`[data-name="${t.name}"]`)
    expect(row.text()).toContain('8×8')
    expect(row.find('svg.sparkline').exists()).toBe(true)
    await row.get('button').trigger('click')
    expect(layers.focusedRow?.name).toBe(t.name)
    expect(w.find('[data-testid="spectrum-chart"]').exists()).toBe(true)
  })
})
