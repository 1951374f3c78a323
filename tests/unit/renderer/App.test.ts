// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import App from '@renderer/App.vue'
import { useAppStore } from '@renderer/stores/app'
import { FakeApi, setApi } from './fakeApi'

vi.mock('@renderer/api', () => import('./fakeApi'))

let wrapper: VueWrapper | undefined
let api: FakeApi

beforeEach(() => {
  localStorage.clear()
  delete document.documentElement.dataset.theme
  api = setApi(
    new FakeApi({
      appInfo: () => ({ name: 'SiVA Studio', version: '0.1.0', versions: {}, platform: 'linux', backend: { name: 'wasm', skipped: [] }, runsDir: '/runs', demo: { model: '/demo/model', data: '/demo/data.csv', task: 'classify' } }),
      listRuns: () => []
    })
  )
})
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})

async function mountApp(): Promise<VueWrapper> {
  wrapper = mount(App, {
    attachTo: document.body,
    global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })], stubs: { BaseChart: true } }
  })
  await flushPromises()
  return wrapper
}

function current(w: VueWrapper): string[] {
  return w.findAll('[aria-current="step"]').map((b) => b.attributes('data-testid')!)
}

describe('the app shell', () => {
  it('shows the back end it is connected to and the Model step first', async () => {
    const w = await mountApp()
    expect(api.callsOf('appInfo')).toHaveLength(1)
    expect(w.get('[data-testid="app-info"]').text()).toContain('wasm')
    expect(current(w)).toEqual(['nav-model'])
    expect(w.find('[data-testid="model-path"]').exists()).toBe(true)
    expect(w.find('[data-testid="model-demo"]').exists()).toBe(true)
  })

  it('puts every step in the tab order as a button, wizard steps before tools', async () => {
    const w = await mountApp()
    const buttons = w.findAll('nav button')
    expect(buttons.map((b) => b.attributes('data-testid'))).toEqual(['nav-model', 'nav-data', 'nav-layers', 'nav-train', 'nav-export', 'nav-runs', 'nav-inspect'])
    for (const b of buttons) {
      expect(b.element.tagName).toBe('BUTTON')
      expect(b.attributes('tabindex')).toBeUndefined()
    }
  })

  it('moves between steps with the arrow keys, Home and End, and focus follows', async () => {
    const w = await mountApp()
    const model = w.get('[data-testid="nav-model"]')
    ;(model.element as HTMLElement).focus()
    await model.trigger('keydown', { key: 'ArrowRight' })
    await flushPromises()
    expect(current(w)).toEqual(['nav-data'])
    expect(document.activeElement?.getAttribute('data-testid')).toBe('nav-data')
    expect(w.find('[data-testid="data-path"]').exists()).toBe(true)

    await w.get('[data-testid="nav-data"]').trigger('keydown', { key: 'End' })
    await flushPromises()
    expect(current(w)).toEqual(['nav-inspect'])
    expect(document.activeElement?.getAttribute('data-testid')).toBe('nav-inspect')

    await w.get('[data-testid="nav-inspect"]').trigger('keydown', { key: 'ArrowRight' }) // wraps around
    await flushPromises()
    expect(current(w)).toEqual(['nav-model'])

    await w.get('[data-testid="nav-model"]').trigger('keydown', { key: 'ArrowLeft' })
    await flushPromises()
    expect(current(w)).toEqual(['nav-inspect'])

    await w.get('[data-testid="nav-inspect"]').trigger('keydown', { key: 'Home' })
    await flushPromises()
    expect(current(w)).toEqual(['nav-model'])
    expect(useAppStore().step).toBe('model')
  })

  it('opens a step by click (what Enter or Space on a button does)', async () => {
    const w = await mountApp()
    await flushPromises()
    // At start, to re-attach to a run still training and fill the live-runs banner.
    expect(api.callsOf('listRuns').length).toBeGreaterThan(0)
    await w.get('[data-testid="nav-layers"]').trigger('click')
    await flushPromises()
    expect(current(w)).toEqual(['nav-layers'])
    expect(w.get('main').text()).toContain('Open a model first')
    // Each step change refreshes the banner once; showing Runs fetches its list besides.
    const onLayers = api.callsOf('listRuns').length
    await w.get('[data-testid="nav-runs"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('listRuns')).toHaveLength(onLayers + 2)
    // Views are kept alive between visits; the runs list is fetched again each time it is shown.
    await w.get('[data-testid="nav-model"]').trigger('click')
    await flushPromises()
    const onModel = api.callsOf('listRuns').length
    await w.get('[data-testid="nav-runs"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('listRuns')).toHaveLength(onModel + 2)
  })

  it('toggles the theme and remembers it', async () => {
    const w = await mountApp()
    const toggle = w.get('[data-testid="theme-toggle"]')
    const before = useAppStore().theme
    await toggle.trigger('click')
    const after = before === 'dark' ? 'light' : 'dark'
    expect(document.documentElement.dataset.theme).toBe(after)
    expect(localStorage.getItem('siva-studio.theme')).toBe(after)
    expect(toggle.attributes('aria-pressed')).toBe(String(after === 'dark'))
  })
})
