// @vitest-environment happy-dom
/**
 * The layer table's scroll box (issue 17, item 8): which rows are in view is said below it, a fade marks
 * that more rows follow, the last row is reachable (scrolled to, or the table shown whole), and a row
 * focused from elsewhere (the heatmap) is scrolled into the box. happy-dom lays nothing out, so the
 * geometry a browser would give (header 40 px, rows 40 px, box 480 px) is set on the elements here.
 */
import { mount, type VueWrapper } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import LayerTable from '@renderer/components/LayerTable.vue'
import type { LayerTableItem } from '@renderer/lib/layerTableItem'

const head = 40
const row = 40
const box = 480

function items(n: number): LayerTableItem[] {
  return Array.from({ length: n }, (_, i) => ({ name: `model.layers.${i}.q_proj`, block: i, role: 'query', shape: [64, 64] as const }))
}

function set(el: Element, props: Record<string, number>): void {
  for (const [key, value] of Object.entries(props)) Object.defineProperty(el, key, { value, configurable: true, writable: true })
}

/** Lay the table out as a browser would: a sticky header, then rows of `height` px, in a box of 480 px. */
function layout(w: VueWrapper, count: number, height = row): HTMLElement {
  const scroller = w.get('[data-testid="layers-table"]').element as HTMLElement
  set(scroller, { clientHeight: box, scrollHeight: head + count * height, scrollTop: 0 })
  set(scroller.querySelector('thead')!, { offsetHeight: head })
  w.findAll('[data-testid="layer-row"]').forEach((r) => {
    const index = Number(r.attributes('data-name')!.split('.')[2])
    set(r.element, { offsetTop: head + index * height, offsetHeight: height })
  })
  return scroller
}

async function scrollTo(w: VueWrapper, scroller: HTMLElement, top: number): Promise<void> {
  scroller.scrollTop = top
  await w.get('[data-testid="layers-table"]').trigger('scroll')
}

describe('the layer table’s scroll box', () => {
  it('says which rows are in view and fades its bottom while more follow; the last row is reachable', async () => {
    const w = mount(LayerTable, { props: { items: items(24), caption: 'layers' } })
    const scroller = layout(w, 24)
    await scrollTo(w, scroller, 0)
    // Rows whose middle lies between the header (40) and the box's bottom (480): 60 + 40·i ≤ 480, i ≤ 10.
    const inView = Math.floor((box - head - row / 2) / row) + 1
    expect(inView).toBe(11)
    expect(w.get('[data-testid="layers-table-status"]').text()).toBe(`Rows 1–${inView} of 24 in view: scroll the table for the other ${24 - inView}.`)
    expect(w.find('[data-testid="layers-table-fade"]').exists()).toBe(true)

    // The last row is rendered and, scrolled to the end, in view: the cue says so and the fade goes.
    expect(w.find('[data-name="model.layers.23.q_proj"]').exists()).toBe(true)
    const end = head + 24 * row - box
    await scrollTo(w, scroller, end)
    // The first row whose middle (head + 40·i + 20) is below the header (end + head): i ≥ (end − 20) / 40.
    const first = Math.ceil((end - row / 2) / row) + 1
    expect(w.get('[data-testid="layers-table-status"]').text()).toBe(`Rows ${first}–24 of 24 in view, down to the last row.`)
    expect(w.find('[data-testid="layers-table-fade"]').exists()).toBe(false)
  })

  it('can show every row, without the scroll box, and back', async () => {
    const w = mount(LayerTable, { props: { items: items(24), caption: 'layers' } })
    const scroller = layout(w, 24)
    await scrollTo(w, scroller, 0)
    const expand = w.get('[data-testid="layers-table-expand"]')
    expect(expand.text()).toBe('Show all 24 rows')
    await expand.trigger('click')
    expect(w.get('[data-testid="layers-table"]').classes()).toContain('layer-table--expanded')
    expect(w.get('[data-testid="layers-table-status"]').text()).toBe('All 24 rows shown.')
    expect(w.find('[data-testid="layers-table-fade"]').exists()).toBe(false)
    expect(w.get('[data-testid="layers-table-expand"]').attributes('aria-expanded')).toBe('true')
    await w.get('[data-testid="layers-table-expand"]').trigger('click')
    expect(w.get('[data-testid="layers-table"]').classes()).not.toContain('layer-table--expanded')
  })

  it('a table that fits says all rows are shown and offers nothing more', async () => {
    const w = mount(LayerTable, { props: { items: items(5), caption: 'layers' } })
    const scroller = layout(w, 5)
    await scrollTo(w, scroller, 0)
    expect(w.get('[data-testid="layers-table-status"]').text()).toBe('All 5 rows shown.')
    expect(w.find('[data-testid="layers-table-expand"]').exists()).toBe(false)
    expect(w.find('[data-testid="layers-table-fade"]').exists()).toBe(false)
  })

  it('scrolls a row focused from outside (the heatmap) into the box', async () => {
    const w = mount(LayerTable, { props: { items: items(24), caption: 'layers' } })
    const scroller = layout(w, 24)
    await scrollTo(w, scroller, 0)
    await w.setProps({ focused: 'model.layers.20.q_proj' })
    await new Promise((resolve) => setTimeout(resolve, 0))
    const top = head + 20 * row
    expect(scroller.scrollTop).toBeGreaterThan(0)
    expect(top).toBeGreaterThanOrEqual(scroller.scrollTop + head)
    expect(top + row).toBeLessThanOrEqual(scroller.scrollTop + box)
    expect(w.get('[data-name="model.layers.20.q_proj"]').classes()).toContain('is-focused')
    expect(w.get('[data-testid="layers-table-status"]').text()).toMatch(/^Rows \d+–\d+ of 24 in view/)
    // A row already in view does not move the box.
    const before = scroller.scrollTop
    await w.setProps({ focused: 'model.layers.19.q_proj' })
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(scroller.scrollTop).toBe(before)
  })

  it('past 200 rows (windowed) counts rows by their fixed height and brings a far row into the window', async () => {
    const w = mount(LayerTable, { props: { items: items(5000), caption: 'layers' } })
    const scroller = w.get('[data-testid="layers-table"]').element as HTMLElement
    set(scroller, { clientHeight: box, scrollHeight: head + 5000 * 32, scrollTop: 0 })
    set(scroller.querySelector('thead')!, { offsetHeight: head })
    await scrollTo(w, scroller, 32 * 3000)
    const first = 3000 + 1
    const last = Math.floor((32 * 3000 + box - head) / 32)
    expect(w.get('[data-testid="layers-table-status"]').text()).toBe(`Rows ${first}–${last} of 5000 in view: scroll the table for the other ${5000 - (last - first + 1)}.`)
    expect(w.find('[data-testid="layers-table-expand"]').exists()).toBe(false)
    await w.setProps({ focused: 'model.layers.4000.q_proj' })
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(w.find('[data-name="model.layers.4000.q_proj"]').exists()).toBe(true)
  })
})

describe('per-row overrides', () => {
  it('sends what is typed (a refused 0 too) and shows the row’s refusal inline, keeping the text', async () => {
    const item: LayerTableItem = { name: 'm.0.q', block: 0, role: 'query', shape: [512, 512], trainable: 51, requested: 51, inherited: 51 }
    const w = mount(LayerTable, { props: { items: [item], caption: 'layers', overrideKind: 'k' } })
    const input = w.get('[data-testid="layer-override"]')
    expect(input.attributes('placeholder')).toBe('51')
    expect(w.get('[data-testid="layer-trains"]').text()).toBe('51 of 512')
    await input.setValue('0')
    expect(w.emitted('override')).toEqual([['m.0.q', { k: 0 }]])
    // The store answers with the row's refusal; the typed 0 stays.
    await w.setProps({ items: [{ ...item, trainable: undefined, requested: undefined, override: { k: 0 }, amountError: 'k must be a positive integer, got 0' }] })
    expect((w.get('[data-testid="layer-override"]').element as HTMLInputElement).value).toBe('0')
    expect(w.get('[data-testid="layer-override-error"]').text()).toBe('k must be a positive integer, got 0')
    expect(w.get('[data-testid="layer-override"]').attributes('aria-invalid')).toBe('true')
    await w.get('[data-testid="layer-override"]').setValue('')
    expect(w.emitted('override')![1]).toEqual(['m.0.q', undefined])
  })

  it('a k over r says it trains all r: "9999 → 512 (all)"', () => {
    const item: LayerTableItem = { name: 'm.0.q', shape: [512, 512], trainable: 512, requested: 9999, inherited: 9999 }
    const w = mount(LayerTable, { props: { items: [item], caption: 'layers', overrideKind: 'k' } })
    expect(w.get('[data-testid="layer-trains"]').text()).toBe('9999 → 512 (all)')
  })
})
