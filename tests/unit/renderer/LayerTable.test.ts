// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import LayerTable from '@renderer/components/LayerTable.vue'
import type { LayerTableItem } from '@renderer/lib/layerTableItem'

function items(n: number): LayerTableItem[] {
  return Array.from({ length: n }, (_, i) => ({ name: `model.layers.${i}.q_proj`, block: i, role: 'query', shape: [64, 64] as const }))
}

describe('the layer table', () => {
  it('renders every row up to 200', () => {
    const w = mount(LayerTable, { props: { items: items(200), caption: 'layers' } })
    expect(w.findAll('[data-testid="layer-row"]')).toHaveLength(200)
  })

  it('renders only a window of rows past 200, with spacers that keep the scroll height', async () => {
    const w = mount(LayerTable, { props: { items: items(5000), caption: 'layers' } })
    const rows = w.findAll('[data-testid="layer-row"]')
    expect(rows.length).toBeGreaterThan(10)
    expect(rows.length).toBeLessThan(60)
    expect(rows[0]!.attributes('data-name')).toBe('model.layers.0.q_proj')
    const scroller = w.get('[data-testid="layers-table"]').element as HTMLElement
    scroller.scrollTop = 32 * 3000
    await w.get('[data-testid="layers-table"]').trigger('scroll')
    const after = w.findAll('[data-testid="layer-row"]')
    expect(after.length).toBeLessThan(60)
    const names = after.map((r) => r.attributes('data-name'))
    expect(names).toContain('model.layers.3005.q_proj')
    expect(names).not.toContain('model.layers.0.q_proj')
    const spacers = w.findAll('tbody tr[aria-hidden="true"]')
    expect(spacers).toHaveLength(2)
    expect(parseInt((spacers[0]!.element as HTMLElement).style.height)).toBeGreaterThan(32 * 2900)
  })

  it('labels each checkbox and reports ticks and focus', async () => {
    const w = mount(LayerTable, { props: { items: items(3), caption: 'layers', selectable: true } })
    const box = w.get('input[aria-label="Train model.layers.1.q_proj"]')
    await box.setValue(true)
    expect(w.emitted('toggle')).toEqual([['model.layers.1.q_proj', true]])
    await w.findAll('button')[2]!.trigger('click')
    expect(w.emitted('focus')).toEqual([['model.layers.2.q_proj']])
  })
})
