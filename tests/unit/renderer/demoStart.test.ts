// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import type { AppInfo, ModelSummary, TargetRow } from '../../../src/shared/api'
import ModelView from '@renderer/views/ModelView.vue'
import { useAppStore } from '@renderer/stores/app'
import { useDataStore } from '@renderer/stores/data'
import { useLayersStore } from '@renderer/stores/layers'
import { useModelStore } from '@renderer/stores/model'
import { useRunStore } from '@renderer/stores/run'
import { FakeApi, setApi } from './fakeApi'

vi.mock('@renderer/api', () => import('./fakeApi'))

/** The sentence encoder as openModel describes it: six projections in each of two layers. */
function useSummary(): ModelSummary {
  const targets: TargetRow[] = []
  for (const block of [0, 1]) {
    const base = `encoder.layer.${block}`
    targets.push(
      { name: `${base}.attention.qkv.q`, block, role: 'query', shape: [256, 256] },
      { name: `${base}.attention.qkv.k`, block, role: 'key', shape: [256, 256] },
      { name: `${base}.attention.qkv.v`, block, role: 'value', shape: [256, 256] },
      { name: `${base}.attention.output`, block, role: 'attention.output', shape: [512, 256] },
      { name: `${base}.ffn.conv1`, block, role: 'mlp.in', shape: [1536, 512] },
      { name: `${base}.ffn.conv2`, block, role: 'mlp.out', shape: [512, 1536] }
    )
  }
  return { path: '/demo/model', format: 'tfjs', modelType: 'use-lite', architectures: ['UniversalSentenceEncoderLite'], parameters: 8_000_000, dtypes: { F32: 8_000_000 }, layers: 2, targets, defaultTargets: '\\.attention\\.qkv\\.[qv]$', tokenizer: true, imageProcessor: false }
}

const demo: NonNullable<AppInfo['demo']> = {
  model: '/demo/model',
  data: '/demo/train.csv',
  task: 'classify',
  recipe: { validation: '/demo/test.csv', targets: 'layer\\.1\\.', perc: 0.25, lr: 0.05, headLr: 0.03, maxLength: 48, epochs: 3 }
}

describe('the demo on the Model step', () => {
  it('offers the demo before a model is open, and one click sets up what siva demo trains', async () => {
    const api = setApi(new FakeApi({ openModel: () => useSummary(), recentModels: () => [] }))
    const w = mount(ModelView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })
    useAppStore().info = { name: 'SiVA Studio', version: '0.1.0', versions: {}, platform: 'linux-x64', demo }
    await flushPromises()
    expect(w.get('[data-testid="demo-card"]').text()).toContain('Universal Sentence Encoder lite')
    await w.get('[data-testid="demo-start"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('openModel')).toEqual([{ path: '/demo/model' }])
    const data = useDataStore()
    expect([data.path, data.validation, data.task, data.maxLength]).toEqual(['/demo/train.csv', '/demo/test.csv', 'classify', 48])
    const layers = useLayersStore()
    expect([...layers.selected].sort()).toEqual(useSummary().targets.filter((t) => t.block === 1).map((t) => t.name).sort())
    expect([layers.method, layers.perc]).toEqual(['siva', 0.25])
    const hyper = useRunStore().hyperparameters
    expect([hyper.lr, hyper.headLr, hyper.epochs]).toEqual([0.05, 0.03, 3])
    // Open, the card gives way to the model's summary.
    expect(useModelStore().summary?.modelType).toBe('use-lite')
    expect(w.find('[data-testid="demo-card"]').exists()).toBe(false)
  })

  it('is not offered where no demo is installed', async () => {
    setApi(new FakeApi({ recentModels: () => [] }))
    const w = mount(ModelView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })
    useAppStore().info = { name: 'SiVA Studio', version: '0.1.0', versions: {}, platform: 'linux-x64' }
    await flushPromises()
    expect(w.find('[data-testid="demo-card"]').exists()).toBe(false)
  })
})
