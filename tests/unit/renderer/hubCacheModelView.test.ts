// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import type { CachedModels } from '@shared/api'
import ModelView from '@renderer/views/ModelView.vue'
import { hubSnapshotOf, useModelStore } from '@renderer/stores/model'
import { FakeApi, setApi } from './fakeApi'
import { bertSummary } from './fixtures'

vi.mock('@renderer/api', () => import('./fakeApi'))

const commit = (c: string): string => c.repeat(40)
const cache = '/home/u/.cache/huggingface/hub'
const snapshot = (id: string, c: string): string => `${cache}/models--${id.replace('/', '--')}/snapshots/${c}`

const listing: CachedModels = {
  cache,
  offline: true,
  models: [
    {
      id: 'acme/tiny-bert',
      sizeBytes: 91_200,
      revisions: [
        { commit: commit('a'), refs: ['main'], snapshot: snapshot('acme/tiny-bert', commit('a')), hasConfig: true, hasWeights: true, modifiedAt: '2026-12-01T10:00:00Z' },
        { commit: commit('b'), refs: ['v1'], snapshot: snapshot('acme/tiny-bert', commit('b')), hasConfig: true, hasWeights: true, modifiedAt: '2026-11-01T10:00:00Z' },
        { commit: commit('c'), refs: [], snapshot: snapshot('acme/tiny-bert', commit('c')), hasConfig: true, hasWeights: true, modifiedAt: '2026-10-01T10:00:00Z' }
      ]
    },
    {
      id: 'gpt2',
      sizeBytes: 2_500,
      revisions: [{ commit: commit('d'), refs: ['main'], snapshot: snapshot('gpt2', commit('d')), hasConfig: true, hasWeights: false, problem: 'missing model.safetensors', modifiedAt: '2026-12-01T10:00:00Z' }]
    }
  ]
}

/** openModel as the back end answers an id: the summary names the snapshot folder it resolved to. */
const resolveId = ({ path }: { path: string }) => {
  const [id, rev] = path.split('@') as [string, string | undefined]
  const c = rev === undefined ? commit('a') : rev === 'v1' ? commit('b') : rev
  return { ...bertSummary(1), path: snapshot(id, c) }
}

function mountView(api: FakeApi) {
  setApi(api)
  return mount(ModelView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })
}

describe('the Model step and the Hugging Face cache', () => {
  it('lists each cached revision with its refs, short commit and size; a click opens id, id@tag or id@commit', async () => {
    const api = new FakeApi({ recentModels: () => [], cachedModels: () => listing, openModel: resolveId })
    const w = mountView(api)
    await flushPromises()
    const section = w.get('[data-testid="model-cached"]')
    expect(section.get('h2').text()).toBe('In the Hugging Face cache')
    const items = w.findAll('[data-testid="model-cached-item"]')
    expect(items).toHaveLength(4)
    expect(items[0]!.text()).toContain('acme/tiny-bert')
    expect(items[0]!.text()).toContain('main · aaaaaaa · 91.2 kB')
    expect(items[2]!.text()).toContain('no branch or tag · ccccccc')
    const buttons = w.findAll('[data-testid="model-cached-open"]')
    expect(buttons.map((b) => b.attributes('aria-label'))).toEqual([
      'Open acme/tiny-bert from the Hugging Face cache',
      'Open acme/tiny-bert@v1 from the Hugging Face cache',
      `Open acme/tiny-bert@${commit('c')} from the Hugging Face cache`
    ])
    // gpt2's snapshot has no weights: shown with why, and no button to open it.
    expect(items[3]!.find('button').exists()).toBe(false)
    expect(items[3]!.get('[data-testid="model-cached-problem"]').text()).toBe('· cannot open: missing model.safetensors')
    expect(section.text()).toContain('(HF_HUB_OFFLINE is set)')

    await buttons[1]!.trigger('click')
    await flushPromises()
    expect(api.callsOf('openModel')).toEqual([{ path: 'acme/tiny-bert@v1' }])
    expect(w.get('[data-testid="model-hub-origin"]').text()).toBe(`Hugging Face acme/tiny-bert, commit ${commit('b').slice(0, 12)}, from the cache:`)
    expect(useModelStore().path).toBe('acme/tiny-bert@v1')
  })

  it('the path field takes a Hub id too, and says so', async () => {
    const api = new FakeApi({ recentModels: () => [], cachedModels: () => ({ cache, offline: false, models: [] }), openModel: resolveId })
    const w = mountView(api)
    await flushPromises()
    expect(w.get('label[for="model-path"]').text()).toBe('Checkpoint folder or Hub id')
    const input = w.get('[data-testid="model-path"]')
    expect(input.attributes('placeholder')).toBe('/path/to/checkpoint or org/name@revision')
    expect(w.get(`#${input.attributes('aria-describedby')}`).text()).toContain('Download fetches what is missing from the Hub into that cache')
    expect(w.get('[data-testid="model-cached-empty"]').text()).toContain(`No models in ${cache}`)
    await input.setValue('acme/tiny-bert')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(api.callsOf('openModel')).toEqual([{ path: 'acme/tiny-bert' }])
    expect(w.get('[data-testid="model-hub-origin"]').text()).toContain('acme/tiny-bert')
  })

  it('without the list (an older back end, an error) the step works as before and shows no cache section', async () => {
    const api = new FakeApi({
      recentModels: () => [],
      cachedModels: () => {
        throw new Error('cachedModels: unknown method')
      },
      openModel: ({ path }) => ({ ...bertSummary(1), path })
    })
    const w = mountView(api)
    await flushPromises()
    expect(w.find('[data-testid="model-cached"]').exists()).toBe(false)
    await w.get('[data-testid="model-path"]').setValue('/models/tiny-bert')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.find('[data-testid="model-summary"]').exists()).toBe(true)
    expect(w.find('[data-testid="model-hub-origin"]').exists()).toBe(false)
  })

  it('tells a cache snapshot folder from any other path', () => {
    expect(hubSnapshotOf(snapshot('acme/tiny-bert', commit('e')))).toEqual({ id: 'acme/tiny-bert', commit: commit('e') })
    expect(hubSnapshotOf(`C:\\Users\\u\\.cache\\huggingface\\hub\\models--gpt2\\snapshots\\${commit('f')}`)).toEqual({ id: 'gpt2', commit: commit('f') })
    expect(hubSnapshotOf('/models/tiny-bert')).toBeUndefined()
    expect(hubSnapshotOf(`${cache}/models--acme--x/snapshots/main`)).toBeUndefined()
  })
})
