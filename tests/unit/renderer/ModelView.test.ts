// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import type { AppInfo } from '@shared/api'
import ModelView from '@renderer/views/ModelView.vue'
import modelViewSource from '@renderer/views/ModelView.vue?raw'
import { useAppStore } from '@renderer/stores/app'
import { useModelStore } from '@renderer/stores/model'
import { FakeApi, setApi } from './fakeApi'
import { bertSummary } from './fixtures'

vi.mock('@renderer/api', () => import('./fakeApi'))

const info = (canPickPaths: boolean): AppInfo => ({ name: 'SiVA Studio', version: '0.1.0', versions: {}, platform: 'linux-x64', canPickPaths })

describe('the Model view', () => {
  it('in the desktop app, Browse… opens the system dialog and then the folder chosen; a cancelled dialog opens nothing', async () => {
    const picks = ['/models/tiny-bert', undefined]
    const api = setApi(new FakeApi({ pickPath: () => ({ ...(picks.shift() !== undefined && { path: '/models/tiny-bert' }) }), openModel: ({ path }) => ({ ...bertSummary(1), path }), recentModels: () => [] }))
    const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
    const w = mount(ModelView, { global: { plugins: [pinia] } })
    useAppStore().info = info(true)
    await flushPromises()
    await w.get('[data-testid="model-browse"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('pickPath')).toEqual([{ kind: 'folder', title: 'Open a Hugging Face checkpoint folder' }])
    expect(api.callsOf('openModel')).toEqual([{ path: '/models/tiny-bert' }])
    await w.get('[data-testid="model-browse"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('openModel')).toHaveLength(1)
  })

  it('in a browser there is no Browse… button (no dialog to open); recent models are listed to open again', async () => {
    const recent = [{ path: '/models/gpt2', modelType: 'gpt2', architectures: ['GPT2LMHeadModel'], openedAt: '2026-11-29T06:00:00Z' }]
    const api = setApi(new FakeApi({ recentModels: () => recent, openModel: ({ path }) => ({ ...bertSummary(1), path }) }))
    const w = mount(ModelView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })
    useAppStore().info = info(false)
    await flushPromises()
    expect(w.find('[data-testid="model-browse"]').exists()).toBe(false)
    const open = w.get('[data-testid="model-recent-open"]')
    expect(open.attributes('aria-label')).toBe('Open /models/gpt2')
    expect(open.text()).toContain('GPT2LMHeadModel')
    await open.trigger('click')
    await flushPromises()
    expect(api.callsOf('openModel')).toEqual([{ path: '/models/gpt2' }])
  })

  it('a failed open replaces the card with the error; the model open before is one click away in Recent', async () => {
    const recent = [{ path: '/models/tiny-bert', modelType: 'bert', architectures: ['BertForSequenceClassification'], openedAt: '2026-11-29T06:00:00Z' }]
    const api = setApi(
      new FakeApi({
        recentModels: () => recent,
        openModel: ({ path }) => {
          if (path === '/models/broken') throw new Error('/models/broken: no config.json')
          return { ...bertSummary(1), path }
        }
      })
    )
    const w = mount(ModelView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })
    useAppStore().info = info(false)
    await w.get('[data-testid="model-path"]').setValue('/models/tiny-bert')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('[data-testid="model-summary"]').text()).toContain('/models/tiny-bert')
    expect(w.find('[data-testid="model-recent"]').exists()).toBe(false)

    await w.get('[data-testid="model-path"]').setValue('/models/broken')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('[data-testid="model-error"]').text()).toBe('/models/broken: no config.json')
    expect(w.find('[data-testid="model-summary"]').exists()).toBe(false)
    expect(useModelStore().summary).toBeUndefined()
    const again = w.get('[data-testid="model-recent-open"]')
    expect(again.attributes('aria-label')).toBe('Open /models/tiny-bert')
    await again.trigger('click')
    await flushPromises()
    expect(api.callsOf('openModel')).toEqual([{ path: '/models/tiny-bert' }, { path: '/models/broken' }, { path: '/models/tiny-bert' }])
    expect(w.find('[data-testid="model-error"]').exists()).toBe(false)
    expect(w.get('[data-testid="model-summary"]').text()).toContain('/models/tiny-bert')
  })

  it('architecture names may wrap only between their words: <wbr> at each word, the full name as the tooltip, no break-anywhere', async () => {
    setApi(new FakeApi({ recentModels: () => [], openModel: ({ path }) => ({ ...bertSummary(1), path, architectures: ['BertForSequenceClassification', 'GPT2LMHeadModel'] }) }))
    const w = mount(ModelView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })
    await useModelStore().open('/models/tiny-bert')
    await flushPromises()
    const arch = w.get('[data-testid="model-architecture"]')
    expect(arch.classes()).toContain('model-arch')
    expect(arch.attributes('title')).toBe('BertForSequenceClassification, GPT2LMHeadModel')
    const names = arch.findAll('.model-arch__name')
    // Each name's nodes: its text, with '|' where a <wbr> lets the line break.
    const breaks = (el: Element): string => Array.from(el.childNodes, (node) => (node.nodeName === 'WBR' ? '|' : node.nodeType === 3 ? node.textContent : '')).join('')
    expect(names.map((n) => breaks(n.element))).toEqual(['Bert|For|Sequence|Classification', 'GPT2|LM|Head|Model'])
    expect(arch.text()).toBe('BertForSequenceClassification, GPT2LMHeadModel (bert)')
    // The view's own rule overrides App.vue's `.facts dd { overflow-wrap: anywhere }` for this cell.
    const rule = /\.facts dd\.model-arch \{([^}]*)\}/.exec(modelViewSource)?.[1] ?? ''
    expect(rule).toMatch(/overflow-wrap: break-word;/)
    expect(rule).toMatch(/word-break: normal;/)
    expect(rule).not.toMatch(/anywhere/)
  })

  it('the training backend has its own full-width section below the facts, not a cell of the grid', async () => {
    setApi(new FakeApi({ recentModels: () => [], openModel: ({ path }) => ({ ...bertSummary(1), path }) }))
    const w = mount(ModelView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })
    useAppStore().info = { ...info(false), backend: { name: 'wasm', matmul: 'siva', threads: 8, skipped: [{ name: 'tensorflow-gpu', reason: 'not installed' }] } }
    await useModelStore().open('/models/tiny-bert')
    await flushPromises()
    const backend = w.get('[data-testid="model-backend"]')
    expect(backend.element.closest('dl.facts')).toBeNull()
    const section = backend.element.closest('section.model-backend')!
    expect(section).not.toBeNull()
    expect(section.parentElement).toBe(w.get('[data-testid="model-summary"]').element)
    expect(section.querySelector('h3')!.textContent).toBe('Training backend')
    expect(section.getAttribute('aria-labelledby')).toBe('model-backend-title')
    expect(backend.get('[data-testid="backend-name"]').text()).toBe('wasm')
    expect(backend.get('[data-testid="backend-gpu-reason"]').text()).toBe('GPU not used: not installed')
    expect(w.findAll('dl.facts dt').map((dt) => dt.text())).not.toContain('Training backend')
  })
})
