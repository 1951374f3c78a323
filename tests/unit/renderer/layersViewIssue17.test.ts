// @vitest-environment happy-dom
/**
 * Issue 17, items 4 and 8, on the Layers view as mounted with a BERT-shaped model: the blocks summary,
 * the heatmap's cells (click to show and tick, selected ones outlined), the erank / r view, and the
 * count panel's texts, every number computed here from the formulas rather than read back from the app.
 */
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ModelSummary } from '../../../src/shared/api'
import { useDataStore } from '@renderer/stores/data'
import { useLayersStore } from '@renderer/stores/layers'
import { useModelStore } from '@renderer/stores/model'
import { useRunStore } from '@renderer/stores/run'
import LayersView from '@renderer/views/LayersView.vue'
import { usableCheck } from './dataChecks'
import { FakeApi, setApi } from './fakeApi'
import { bertSummary, spectrum } from './fixtures'

vi.mock('@renderer/api', () => import('./fakeApi'))

let api: FakeApi
let wrapper: VueWrapper | undefined
let summary: ModelSummary

beforeEach(() => {
  summary = bertSummary(4)
  api = setApi(new FakeApi({ openModel: () => summary, checkData: usableCheck }))
})
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})

async function view(): Promise<VueWrapper> {
  const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
  setActivePinia(pinia)
  await useModelStore().open('/m')
  wrapper = mount(LayersView, { global: { plugins: [pinia], stubs: { BaseChart: true } }, attachTo: document.body })
  return wrapper
}

/** Stream every target's spectrum, as analyseLayers does. */
async function analyseAll(): Promise<void> {
  const layers = useLayersStore()
  layers.targets.forEach((t, i) => api.last('analyseLayers').emit({ type: 'progress', done: i + 1, total: layers.targets.length, layer: spectrum(`${t.name}.weight`, t.shape, 0.7 + 0.05 * (i % 5)) }))
  layers.flush()
  await flushPromises()
}

function heatmapOption(w: VueWrapper): { series: { data: { value: number[]; name?: string; itemStyle?: { borderWidth: number } }[] }[] } {
  return w.get('[data-testid="erank-heatmap"]').findComponent({ name: 'BaseChart' }).props('option') as never
}

const formatted = (x: number): string => String(Number(x.toPrecision(4)))

describe('the blocks summary says what the selection covers', () => {
  it('a pattern that matches only block 1 within blocks 0–3 says "in block 1"', async () => {
    const w = await view()
    expect(w.get('[data-testid="layers-blocks-summary"]').text()).toBe('in blocks 0–3')
    await w.get('[data-testid="layers-pattern"]').setValue('\\.1\\.attention\\.self\\.(query|value)$')
    expect((w.get('[data-testid="layers-block-from"]').element as HTMLInputElement).value).toBe('0')
    expect((w.get('[data-testid="layers-block-to"]').element as HTMLInputElement).value).toBe('3')
    expect(w.get('[data-testid="layers-selected-count"]').text()).toBe('2 of 24 selected')
    expect(w.get('[data-testid="layers-blocks-summary"]').text()).toBe('in block 1')
  })

  it('blocks 0 to 1 with that pattern: the range reads as a limit, the summary as what is selected', async () => {
    const w = await view()
    await w.get('[data-testid="layers-block-to"]').setValue('1')
    await w.get('[data-testid="layers-pattern"]').setValue('\\.1\\.attention\\.self\\.query$')
    expect(w.text()).toContain('Within blocks')
    expect(w.text()).not.toContain('Blocks from')
    expect(w.get('[data-testid="layers-blocks-summary"]').text()).toBe('in block 1')
    // Rows of blocks 0 and 2 by hand: the summary follows the ticks.
    useLayersStore().setSelected('bert.encoder.layer.0.output.dense', true)
    useLayersStore().setSelected('bert.encoder.layer.3.output.dense', true)
    await flushPromises()
    expect(w.get('[data-testid="layers-blocks-summary"]').text()).toBe('in blocks 0–1, 3')
    await w.findAll('button').find((b) => b.text() === 'Select none')!.trigger('click')
    expect(w.find('[data-testid="layers-blocks-summary"]').exists()).toBe(false)
  })
})

describe('the erank heatmap', () => {
  it('outlines the selected cells (in the chart data and on the cells) and says so in a legend', async () => {
    const w = await view()
    await analyseAll()
    const selected = useLayersStore().selected
    const data = heatmapOption(w).series[0]!.data
    expect(data).toHaveLength(24)
    const outlined = data.filter((d) => (d.itemStyle?.borderWidth ?? 0) > 0).map((d) => d.name)
    expect(new Set(outlined)).toEqual(new Set(selected))
    expect(outlined).toHaveLength(8)
    const cells = w.findAll('[data-testid="heatmap-cell"]')
    expect(cells).toHaveLength(24)
    expect(new Set(cells.filter((c) => c.attributes('data-selected') === 'true').map((c) => c.attributes('data-name')))).toEqual(new Set(selected))
    expect(w.get('[data-testid="heatmap-legend"]').text()).toContain('outlined: selected for training')
  })

  it('a click shows the matrix (spectrum, focused row); in tick mode it also ticks and unticks it', async () => {
    const w = await view()
    await analyseAll()
    const layers = useLayersStore()
    const name = 'bert.encoder.layer.2.attention.self.key'
    const cell = (): ReturnType<VueWrapper['get']> => w.get(`[data-testid="heatmap-cell"][data-name="${name}"]`)
    await cell().trigger('click')
    expect(layers.focused).toBe(name)
    expect(w.get('h3 .mono').text()).toBe(name)
    expect(w.find('[data-testid="spectrum-chart"]').exists()).toBe(true)
    expect(w.get(`[data-testid="layer-row"][data-name="${name}"]`).classes()).toContain('is-focused')
    expect(layers.selected.has(name)).toBe(false) // showing is not ticking

    await w.get('[data-testid="heatmap-mode-tick"]').setValue(true)
    await cell().trigger('click')
    expect(layers.selected.has(name)).toBe(true)
    expect(cell().attributes('data-selected')).toBe('true')
    expect(cell().attributes('aria-label')).toContain('selected for training')
    expect(heatmapOption(w).series[0]!.data.find((d) => d.name === name)!.itemStyle!.borderWidth).toBeGreaterThan(0)
    expect((w.get(`[data-name="${name}"] [data-testid="layer-select"]`).element as HTMLInputElement).checked).toBe(true)
    await cell().trigger('click')
    expect(layers.selected.has(name)).toBe(false)
  })

  it('is keyboard operable: one cell in the tab order, arrow keys move, Enter shows', async () => {
    const w = await view()
    await analyseAll()
    const cells = (): ReturnType<VueWrapper['findAll']> => w.findAll('[data-testid="heatmap-cell"]')
    expect(cells().filter((c) => c.attributes('tabindex') === '0')).toHaveLength(1)
    const first = cells().find((c) => c.attributes('tabindex') === '0')!
    expect(first.attributes('data-name')).toBe('bert.encoder.layer.0.attention.self.query')
    await first.trigger('keydown', { key: 'ArrowRight' })
    await flushPromises()
    const now = cells().find((c) => c.attributes('tabindex') === '0')!
    expect(now.attributes('data-name')).toBe('bert.encoder.layer.1.attention.self.query')
    expect(document.activeElement?.getAttribute('data-name')).toBe('bert.encoder.layer.1.attention.self.query')
    await now.trigger('keydown', { key: 'ArrowDown' })
    await flushPromises()
    const down = cells().find((c) => c.attributes('tabindex') === '0')!
    expect(down.attributes('data-name')).toBe('bert.encoder.layer.1.attention.self.key')
    // A button: Enter and Space click it.
    expect(down.element.tagName).toBe('BUTTON')
    await down.trigger('click')
    expect(useLayersStore().focused).toBe('bert.encoder.layer.1.attention.self.key')
  })
})

describe('erank / r: a view that compares matrices of different widths', () => {
  it('divides each erank by min(out, in), in the heatmap and the table', async () => {
    // Three widths as in a real model: 256, 512 and 1536.
    summary = bertSummary(2)
    const widths: [number, number][] = [[256, 256], [512, 512], [1536, 1536], [512, 1536], [1536, 512], [256, 512]]
    summary.targets = summary.targets.map((t, i) => ({ ...t, shape: widths[i % widths.length]! }))
    const w = await view()
    await analyseAll()
    const layers = useLayersStore()
    const expected = new Map(layers.targets.map((t, i) => [t.name, spectrum(`${t.name}.weight`, t.shape, 0.7 + 0.05 * (i % 5))]))
    const raw = heatmapOption(w).series[0]!.data
    for (const d of raw) expect(d.value[2]).toBeCloseTo(expected.get(d.name!)!.effectiveRank, 10)

    await w.get('[data-testid="layers-erank-normalised"]').setValue(true)
    const data = heatmapOption(w).series[0]!.data
    for (const d of data) {
      const t = layers.targets.find((x) => x.name === d.name)!
      expect(d.value[2]).toBeCloseTo(expected.get(t.name)!.effectiveRank / Math.min(t.shape[0], t.shape[1]), 12)
    }
    expect(w.text()).toContain('erank divided by r = min(out, in)')
    const header = w.findAll('th').map((th) => th.text())
    expect(header).toContain('erank / r')
    for (const t of layers.targets) {
      const shown = w.get(`[data-testid="layer-row"][data-name="${t.name}"] [data-testid="layer-erank"]`).text()
      expect(shown).toBe(formatted(expected.get(t.name)!.effectiveRank / Math.min(t.shape[0], t.shape[1])))
    }
    await w.get('[data-testid="layers-erank-raw"]').setValue(true)
    const t0 = layers.targets[2]!
    expect(w.get(`[data-name="${t0.name}"] [data-testid="layer-erank"]`).text()).toBe(formatted(expected.get(t0.name)!.effectiveRank))
  })
})

describe('per-layer amounts and the count panel', () => {
  /** BERT with hidden 512 and intermediate 1536, 2 blocks: q,v selected (4 matrices of 512×512). */
  async function wide(): Promise<VueWrapper> {
    summary = bertSummary(2, 512, 1536)
    return view()
  }

  async function checkData(): Promise<void> {
    const data = useDataStore()
    data.path = '/data/train.csv'
    await flushPromises()
    expect(await data.check()).toBe(true)
    await flushPromises()
  }

  it('k = 9999 on 512×512 matrices shows "9999 → 512 (all)" and counts 512 each', async () => {
    const w = await wide()
    await w.get('[data-testid="layers-mode-k"]').setValue(true)
    await w.get('[data-testid="layers-k"]').setValue('9999')
    const selected = useLayersStore().selected.size
    expect(selected).toBe(4)
    expect(w.get('[data-testid="layers-k-clamped"]').text()).toContain(`9999 → 512 (all) on ${selected} matrices`)
    const q = w.get('[data-testid="layer-row"][data-name="bert.encoder.layer.0.attention.self.query"]')
    expect(q.get('[data-testid="layer-trains"]').text()).toBe('9999 → 512 (all)')
    expect(w.get('[data-testid="param-count-adapter"]').attributes('title')).toBe((4 * Math.min(512, 512)).toLocaleString('en-US'))
    // A 1536×512 matrix has r = 512 too; k = 100 fits every matrix and the note goes.
    await w.get('[data-testid="layers-k"]').setValue('100')
    expect(w.find('[data-testid="layers-k-clamped"]').exists()).toBe(false)
    expect(q.get('[data-testid="layer-trains"]').text()).toBe('100 of 512')
    // A row's own k over its r is said too, with its own number.
    await q.get('[data-testid="layer-override"]').setValue('600')
    expect(w.get('[data-testid="layers-k-clamped"]').text()).toContain('600 → 512 (all) on 1 matrix.')
    expect(q.get('[data-testid="layer-trains"]').text()).toBe('600 → 512 (all)')
    expect(w.get('[data-testid="param-count-adapter"]').attributes('title')).toBe(String(512 + 3 * 100))
  })

  it('in LoRA mode the Rank column’s placeholder is the rank, and the row says its parameters', async () => {
    const w = await wide()
    await w.get('[data-testid="layers-method"]').setValue('lora')
    await w.get('[data-testid="layers-rank"]').setValue('4')
    const inputs = w.findAll('[data-testid="layer-override"]')
    expect(inputs).toHaveLength(24 / 2)
    for (const input of inputs) expect(input.attributes('placeholder')).toBe('4')
    const mlp = w.get('[data-testid="layer-row"][data-name="bert.encoder.layer.0.intermediate.dense"]')
    expect(mlp.get('[data-testid="layer-trains"]').text()).toBe(`${String(Number(((4 * (1536 + 512)) / 1000).toPrecision(3)))} k parameters`) // 8,192
    expect(w.findAll('th').map((t) => t.text())).toContain('Rank (parameters)')
  })

  it('full fine-tuning says it trains every weight, not "on 0 matrices"', async () => {
    const w = await wide()
    await w.get('[data-testid="layers-method"]').setValue('full')
    const panel = w.get('[data-testid="param-count"]').text()
    expect(panel).toContain('trainable: every weight of the model')
    expect(panel).not.toMatch(/on 0 matrices/)
    expect(w.find('[data-testid="param-count-vs-full"]').exists()).toBe(false) // full is not compared with itself
  })

  it('a linear probe counts its head (2 classes × 512 + 2 = 1,026), and compares it with LoRA and the same head', async () => {
    const w = await wide()
    await checkData()
    await w.get('[data-testid="layers-method"]').setValue('head')
    const head = 2 * 512 + 2
    expect(head).toBe(1026)
    const total = w.get('[data-testid="param-count-total"]')
    expect(total.attributes('title')).toBe('1,026')
    expect(w.get('[data-testid="param-count"]').text()).toContain('the task head only (2 classes × 512 + 2)')
    expect(w.get('[data-testid="param-count"]').text()).not.toContain('–×')
    // LoRA r = 8 on the 4 selected 512×512 matrices, with the same head.
    const lora = 4 * 8 * (512 + 512) + head
    expect(w.get('[data-testid="param-count-lora8"]').attributes('title')).toBe(lora.toLocaleString('en-US'))
    expect(w.get('[data-testid="param-count-vs-lora8"]').text()).toBe(`Linear probe: ${Math.round(lora / head)}× fewer`)
    expect(w.get('[data-testid="param-count-head-rule"]').text()).toBe('Every total and comparison here counts the same task head.')
  })

  it('SiVA with the head known: adapters, + the head, = the total; both comparisons count the head', async () => {
    const w = await wide()
    await checkData()
    const adapter = 4 * Math.max(1, Math.round(0.1 * 512)) // perc 0.1: k = 51 on each
    expect(w.get('[data-testid="param-count-adapter"]').text()).toBe(String(adapter))
    const head = 1026
    expect(w.get('[data-testid="param-count-head"]').text()).toContain(`+ 1,026 in the task head (2 classes × 512 + 2) = ${(adapter + head).toLocaleString('en-US')} trainable in all`)
    const full = summary.parameters + head
    expect(w.get('[data-testid="param-count-full"]').attributes('title')).toBe(full.toLocaleString('en-US'))
    const lora = 4 * 8 * 1024 + head
    const ratio = lora / (adapter + head)
    expect(w.get('[data-testid="param-count-vs-lora8"]').text()).toBe(`SiVA: ${ratio >= 10 ? Math.round(ratio) : Number(ratio.toPrecision(3))}× fewer`)
  })

  it('does not compare LoRA with LoRA', async () => {
    const w = await wide()
    await w.get('[data-testid="layers-method"]').setValue('lora')
    expect(w.find('[data-testid="param-count-vs-lora8"]').exists()).toBe(false)
    expect(w.get('[data-testid="param-count"]').text()).not.toContain('LoRA r = 8')
    expect(w.get('[data-testid="param-count"]').text()).not.toMatch(/1× more/)
  })

  it('says 128×, not 130×: k = 64 on 512×512 against LoRA r = 8 (8 · 1024 = 8192 = 128 · 64)', async () => {
    const w = await wide()
    await w.get('[data-testid="layers-mode-k"]').setValue(true)
    await w.get('[data-testid="layers-k"]').setValue('64')
    expect((8 * (512 + 512)) / 64).toBe(128)
    expect(w.get('[data-testid="param-count-vs-lora8"]').text()).toBe('SiVA: 128× fewer')
    // Without a checked data file the head is unknown: no count includes it, and the panel says so.
    expect(w.get('[data-testid="param-count-head-rule"]').text()).toBe('No count here includes the task head.')
    expect(w.get('[data-testid="param-count-head"]').text()).toContain('The task head is not counted')
  })

  it('a refused per-row k is said on its row, keeps the typed text, holds Continue and the run’s Start', async () => {
    const w = await wide()
    await checkData()
    const name = 'bert.encoder.layer.0.attention.self.query'
    const input = w.get(`[data-name="${name}"] [data-testid="layer-override"]`)
    await input.setValue('0')
    expect((input.element as HTMLInputElement).value).toBe('0')
    expect(input.attributes('aria-invalid')).toBe('true')
    const error = w.get(`[data-name="${name}"] [data-testid="layer-override-error"]`)
    expect(error.text()).toBe('k must be a positive integer, got 0')
    expect(input.attributes('aria-describedby')).toBe(error.attributes('id'))
    const continueButton = w.findAll('button').find((b) => b.text() === 'Continue to Train')!
    expect(continueButton.attributes('disabled')).toBeDefined()
    expect(w.get('[data-testid="layers-amount-error"]').text()).toBe(`k for ${name}: k must be a positive integer, got 0`)
    expect(useRunStore().missing).toBe(`k for ${name}: k must be a positive integer, got 0 (step Layers).`)
    await input.setValue('')
    expect(w.find(`[data-name="${name}"] [data-testid="layer-override-error"]`).exists()).toBe(false)
    expect(continueButton.attributes('disabled')).toBeUndefined()
    expect(useRunStore().missing).toBeUndefined()
  })
})
