// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import type { AppInfo } from '@shared/api'
import ModelView from '@renderer/views/ModelView.vue'
import { useAppStore } from '@renderer/stores/app'
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
})
