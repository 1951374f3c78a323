// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { useLayersStore } from '@renderer/stores/layers'
import { useModelStore } from '@renderer/stores/model'
import { FakeApi, setApi } from './fakeApi'
import { bertSummary, gpt2Summary, spectrum } from './fixtures'

vi.mock('@renderer/api', () => import('./fakeApi'))

let api: FakeApi

beforeEach(() => {
  setActivePinia(createTestingPinia({ stubActions: false, createSpy: vi.fn }))
  api = setApi(new FakeApi({ openModel: ({ path }) => ({ ...bertSummary(4), path }) }))
})

function selectedNames(): string[] {
  return useLayersStore()
    .rows.filter((r) => r.selected)
    .map((r) => r.name)
}

describe('the layers store', () => {
  it('opening a model selects the family default (q,v) and starts analysing its spectra', async () => {
    const model = useModelStore()
    expect(await model.open('/models/tiny-bert')).toBe(true)
    const layers = useLayersStore()
    expect(layers.targets).toHaveLength(24)
    expect(layers.blockCount).toBe(4)
    expect([layers.blockFrom, layers.blockTo]).toEqual([0, 3])
    expect(selectedNames()).toHaveLength(8)
    expect(selectedNames().every((n) => /self\.(query|value)$/.test(n))).toBe(true)
    expect(api.last('analyseLayers').params).toEqual({ path: '/models/tiny-bert', valuesOnly: true })
  })

  it('preset buttons select the rows of their roles', async () => {
    await useModelStore().open('/m')
    const layers = useLayersStore()
    layers.applyPreset('attention')
    expect(new Set(layers.rows.filter((r) => r.selected).map((r) => r.role))).toEqual(new Set(['query', 'key', 'value', 'attention.output']))
    expect(layers.selected.size).toBe(16)
    layers.applyPreset('mlp')
    expect(layers.rows.filter((r) => r.selected).map((r) => r.role)).toEqual(['mlp.in', 'mlp.out', 'mlp.in', 'mlp.out', 'mlp.in', 'mlp.out', 'mlp.in', 'mlp.out'])
    layers.applyPreset('all')
    expect(layers.selected.size).toBe(24)
  })

  it('a block range narrows the pattern; a tick by hand adds one row; an invalid pattern keeps the selection', async () => {
    await useModelStore().open('/m')
    const layers = useLayersStore()
    layers.setBlockRange(1, 2)
    expect(selectedNames()).toEqual([
      'bert.encoder.layer.1.attention.self.query',
      'bert.encoder.layer.1.attention.self.value',
      'bert.encoder.layer.2.attention.self.query',
      'bert.encoder.layer.2.attention.self.value'
    ])
    layers.setBlockRange(9, -3) // clamped and ordered
    expect([layers.blockFrom, layers.blockTo]).toEqual([0, 3])
    layers.toggle('bert.encoder.layer.0.output.dense')
    expect(layers.selected.has('bert.encoder.layer.0.output.dense')).toBe(true)
    layers.setPattern('query|(')
    expect(layers.patternError).toBeDefined()
    expect(layers.selected.size).toBe(9)
    // The hand-made selection is sent as a pattern that selects exactly it.
    const sent = layers.settings.targets!
    expect(sent.skip).toEqual([])
    expect(new Set(layers.targets.filter((t) => new RegExp(sent.targets).test(t.name)).map((t) => t.name))).toEqual(layers.selected)
  })

  it('counts trainable parameters live: SiVA perc and k, per-layer overrides, LoRA, against LoRA r = 8', async () => {
    await useModelStore().open('/m')
    const layers = useLayersStore()
    // 8 selected 8×8 matrices (q, v of 4 blocks); r = 8.
    expect(layers.estimate.adapter).toBe(8) // round(0.1 · 8) = 1 each
    expect(layers.estimate.lora8).toBe(8 * 8 * 16) // 8 · (8 + 8) each
    expect(layers.estimate.full).toBe(123_456)
    layers.perc = 0.5
    expect(layers.estimate.adapter).toBe(32)
    layers.amountMode = 'k'
    layers.k = 3
    expect(layers.estimate.adapter).toBe(24)
    layers.setOverride('bert.encoder.layer.0.attention.self.query', { k: 8 })
    expect(layers.estimate.adapter).toBe(29)
    expect(layers.rows.find((r) => r.name === 'bert.encoder.layer.0.attention.self.query')).toMatchObject({ trainable: 8, band: [0, 8] })
    layers.applyPreset('mlp') // 8 matrices 32×8 and 8×32: r = 8
    expect(layers.estimate.adapter).toBe(24)
    expect(layers.estimate.lora8).toBe(8 * 8 * 40)
    layers.method = 'lora'
    layers.rank = 4
    expect(layers.estimate.adapter).toBe(8 * 4 * 40)
    layers.method = 'svdiff'
    expect(layers.estimate.adapter).toBe(64)
    layers.method = 'full'
    expect(layers.estimate.adapter).toBe(123_456)
    expect(layers.settings.targets).toBeUndefined()
  })

  it('gives each row the band the method trains: the k smallest for SiVA, the k largest for top-k', async () => {
    await useModelStore().open('/m')
    const layers = useLayersStore()
    layers.amountMode = 'k'
    layers.k = 2
    expect(layers.rows[0]!.band).toEqual([6, 8])
    layers.method = 'topk'
    expect(layers.rows[0]!.band).toEqual([0, 2])
    layers.method = 'lora'
    expect(layers.rows[0]!.band).toBeUndefined()
  })

  it('shows spectra as they stream in, once per frame, and the final report replaces them', async () => {
    await useModelStore().open('/m')
    const layers = useLayersStore()
    const stream = api.last('analyseLayers')
    const first = layers.targets[0]!
    stream.emit({ type: 'progress', done: 1, total: 24, layer: spectrum(`${first.name}.weight`, first.shape) })
    expect(layers.progress).toEqual({ done: 1, total: 24 })
    expect(layers.rows[0]!.spectrum).toBeUndefined() // not before the frame
    layers.flush()
    expect(layers.rows[0]!.spectrum?.name).toBe(`${first.name}.weight`)
    expect(layers.heatmap.cells).toHaveLength(1)

    const all = layers.targets.map((t) => spectrum(`${t.name}.weight`, t.shape, 0.5))
    stream.emit({ type: 'report', report: { source: '/m', format: 'safetensors', perc: 0.1, valuesOnly: true, tensors: all, skipped: [], seconds: 0.1 } })
    stream.end()
    expect(layers.analysing).toBe(false)
    expect(layers.rows.every((r) => r.spectrum !== undefined)).toBe(true)
    expect(layers.heatmap.blocks).toEqual([0, 1, 2, 3])
    expect(layers.heatmap.roles).toEqual(['query', 'key', 'value', 'attention.output', 'mlp.in', 'mlp.out'])
    expect(layers.heatmap.cells).toHaveLength(24)
  })

  it('ignores a stream it replaced, and reports a failed analysis', async () => {
    await useModelStore().open('/m')
    const layers = useLayersStore()
    const old = api.last('analyseLayers')
    layers.analyse()
    const current = api.last('analyseLayers')
    expect(old.closed).toBe(true)
    old.emit({ type: 'progress', done: 5, total: 24 })
    expect(layers.progress).toBeUndefined()
    current.end('model.safetensors: truncated file')
    expect(layers.analysisError).toBe('model.safetensors: truncated file')
  })

  it('matches GPT-2 fused-block spectra to their targets', () => {
    const layers = useLayersStore()
    layers.load(gpt2Summary(1))
    const stream = api.last('analyseLayers')
    stream.emit({ type: 'progress', done: 1, total: 1, layer: spectrum('transformer.h.0.attn.c_attn.weight.v', [32, 32]) })
    layers.flush()
    expect(layers.rows.find((r) => r.spectrum)?.name).toBe('transformer.h.0.attn.c_attn.v')
  })
})
