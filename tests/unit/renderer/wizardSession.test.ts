// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { wizardState as wizardStateSchema, type ModelSummary, type RunSummary, type TrainConfig, type WizardState } from '@shared/api'
import App from '@renderer/App.vue'
import { useAppStore } from '@renderer/stores/app'
import { useDataStore } from '@renderer/stores/data'
import { useLayersStore } from '@renderer/stores/layers'
import { useModelStore } from '@renderer/stores/model'
import { useRunStore } from '@renderer/stores/run'
import { saveDelayMs, useSessionStore } from '@renderer/stores/session'
import RunsView from '@renderer/views/RunsView.vue'
import TrainView from '@renderer/views/TrainView.vue'
import { usableCheck } from './dataChecks'
import { FakeApi, setApi } from './fakeApi'
import { bertSummary, gpt2Summary } from './fixtures'
import { config as baseConfig, numbered } from './trainEvents'

vi.mock('@renderer/api', () => import('./fakeApi'))

// Issue 17, item 1: a reload mid-run lands where the user was, with the model, data, layers and
// hyperparameters back and the run on screen; live runs show under the navigation; a run's own settings
// show beside it (never a form's default beside a run trained otherwise); Open loads a run into the wizard.

const layer = (block: number, module: string): string => `bert.encoder.layer.${block}.${module}`
const runSummary = (id: string, status: RunSummary['status'], extra: Partial<RunSummary> = {}): RunSummary => ({ id, dir: `/runs/${id}`, created: '2026-12-02T12:00:00.000Z', model: '/models/tiny-bert', data: '/data/train.csv', task: 'classify', method: 'siva', status, step: 3, totalSteps: 20, ...extra })
/** The run on screen: trained at lr 0.05, where the form's default for SiVA is 0.01. */
const runConfig: TrainConfig = { ...baseConfig, model: '/models/tiny-bert', data: '/data/train.csv', lr: 0.05, k: 2, batchSize: 8, epochs: 2 }

/** The back end's side: the kept wizard state, and what each call answers. */
interface Server {
  saved?: WizardState
  runs: RunSummary[]
  configs: Record<string, TrainConfig>
  models: Record<string, ModelSummary>
}

let server: Server
let api: FakeApi
let wrapper: VueWrapper | undefined

function backend(): FakeApi {
  return new FakeApi({
    appInfo: () => ({ name: 'SiVA Studio', version: '0.1.0', versions: {}, platform: 'linux', runsDir: '/runs' }),
    recentModels: () => [],
    listRuns: () => server.runs,
    openModel: ({ path }) => {
      const found = server.models[path]
      if (!found) throw new Error(`${path}: no config.json`)
      return found
    },
    checkData: usableCheck,
    wizardState: () => (server.saved ? { state: structuredClone(server.saved), savedAt: '2026-12-02T12:00:00.000Z' } : {}),
    saveWizardState: ({ state }) => {
      // As the back end does: the schema decides, and a refused state is an error, not a save.
      server.saved = wizardStateSchema.parse(state)
      return { savedAt: new Date().toISOString() }
    },
    runConfig: ({ runId }) => {
      const found = server.configs[runId]
      if (!found) throw new Error(`${runId}: no such run`)
      return { config: found }
    }
  })
}

beforeEach(() => {
  server = { runs: [], configs: {}, models: { '/models/tiny-bert': bertSummary(2), '/models/tiny-gpt2': gpt2Summary(2) } }
  api = setApi(backend())
})
afterEach(() => {
  vi.useRealTimers()
  wrapper?.unmount()
  wrapper = undefined
})

/** Load the page: a fresh Pinia (nothing survives a reload but the back end), App mounted, its restore done. */
async function loadPage(): Promise<VueWrapper> {
  wrapper?.unmount()
  const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
  setActivePinia(pinia)
  wrapper = mount(App, { attachTo: document.body, global: { plugins: [pinia], stubs: { BaseChart: true } } })
  for (let i = 0; i < 5; i++) await flushPromises()
  return wrapper
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function currentStep(w: VueWrapper): string[] {
  return w.findAll('[aria-current="step"]').map((b) => b.attributes('data-testid')!)
}

describe('a reload', () => {
  it('brings back the step, model, data, layers, hyperparameters and the run on screen, saved once the edits settle', async () => {
    server.runs = [runSummary('run-1', 'running')]
    server.configs['run-1'] = runConfig
    await loadPage()
    expect(api.callsOf('wizardState')).toHaveLength(1)

    // The user's wizard, step by step; the save's timer is under the test's control (a loaded machine takes its time).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const model = useModelStore()
    const data = useDataStore()
    const layers = useLayersStore()
    const run = useRunStore()
    await model.open('/models/tiny-bert')
    data.path = '/data/train.csv'
    data.validation = '/data/val.csv'
    data.setColumn('text', 'sentence')
    await flushPromises()
    await data.check()
    layers.setBlockRange(1, 1) // the default pattern (query, value) in block 1 only
    layers.setSelected(layer(1, 'attention.self.key'), true) // and one row ticked by hand
    layers.amountMode = 'k'
    layers.k = 2
    layers.setOverride(layer(1, 'attention.self.query'), { k: 3 })
    run.setHyperparameter('lr', 0.05)
    run.setHyperparameter('batchSize', 8)
    run.backend = 'wasm'
    useAppStore().go('train')
    await flushPromises()
    // Debounced: nothing is sent while the edits come, one save once they settle.
    expect(api.callsOf('saveWizardState')).toHaveLength(0)
    vi.advanceTimersByTime(saveDelayMs - 1)
    await flushPromises()
    expect(api.callsOf('saveWizardState')).toHaveLength(0)
    vi.advanceTimersByTime(1)
    await flushPromises()
    vi.useRealTimers()
    expect(api.callsOf('saveWizardState')).toHaveLength(1)
    expect(server.saved).toMatchObject({ step: 'train', model: { path: '/models/tiny-bert', opened: true }, hyperparameters: { lr: 0.05, batchSize: 8 }, backend: 'wasm', runId: 'run-1' })

    // Reload: a new page with nothing in memory.
    const w = await loadPage()
    expect(currentStep(w)).toEqual(['nav-train'])
    const m = useModelStore()
    const d = useDataStore()
    const l = useLayersStore()
    const r = useRunStore()
    expect(m.summary?.path).toBe('/models/tiny-bert')
    expect(d.path).toBe('/data/train.csv')
    expect(d.validation).toBe('/data/val.csv')
    expect(d.columns).toEqual({ text: 'sentence' })
    // Checked again (the result describes the file as it is now), so Start is not held back by the gate.
    expect(d.current).toBe(true)
    expect([...l.selected].sort()).toEqual([layer(1, 'attention.self.key'), layer(1, 'attention.self.query'), layer(1, 'attention.self.value')])
    expect([l.blockFrom, l.blockTo]).toEqual([1, 1])
    expect(l.amountMode).toBe('k')
    expect(l.k).toBe(2)
    expect(l.overrides).toEqual({ [layer(1, 'attention.self.query')]: { k: 3 } })
    expect(r.hyperparameters.lr).toBe(0.05)
    expect(r.backend).toBe('wasm')
    expect((w.get('[data-testid="train-lr"]').element as HTMLInputElement).value).toBe('0.05')
    expect((w.get('[data-testid="train-batchSize"]').element as HTMLInputElement).value).toBe('8')
    expect(r.runId).toBe('run-1')
    expect(w.get('[data-testid="run-reattached"]').text()).toContain('Reattached to run run-1, training')
    // Restoring is not a change: it sends nothing back.
    await wait(saveDelayMs + 200)
    expect(api.callsOf('saveWizardState')).toHaveLength(1)
  })

  it('restores a saved state: a selection the family default would not make comes back as saved', async () => {
    server.saved = {
      version: 1,
      step: 'layers',
      model: { path: '/models/tiny-gpt2', opened: true },
      data: { path: '/data/lm.txt', validation: '', task: 'causal-lm', columns: { text: 'body' }, checked: false },
      layers: { method: 'lora', amountMode: 'perc', perc: 0.1, k: 4, rank: 16, pattern: 'c_fc', blockFrom: 0, blockTo: 1, selected: ['transformer.h.0.mlp.c_fc', 'transformer.h.1.attn.c_proj', 'no.such.target'], overrides: [{ name: 'transformer.h.0.mlp.c_fc', amount: { rank: 2 } }] },
      hyperparameters: { epochs: 7, lr: 0.0003 }
    }
    const w = await loadPage()
    expect(currentStep(w)).toEqual(['nav-layers'])
    const l = useLayersStore()
    expect(useModelStore().summary?.path).toBe('/models/tiny-gpt2')
    expect(l.method).toBe('lora')
    expect(l.rank).toBe(16)
    expect(l.pattern).toBe('c_fc')
    // Exactly the saved rows that exist: not what the pattern would select, not a target the model lacks.
    expect([...l.selected].sort()).toEqual(['transformer.h.0.mlp.c_fc', 'transformer.h.1.attn.c_proj'])
    expect(l.overrides).toEqual({ 'transformer.h.0.mlp.c_fc': { rank: 2 } })
    expect(useDataStore().task).toBe('causal-lm')
    expect(api.callsOf('checkData')).toHaveLength(0) // it had not been checked
    expect(useRunStore().hyperparameters).toMatchObject({ epochs: 7, lr: 0.0003 })
  })

  it('says so when the saved model cannot be opened again, and keeps the rest', async () => {
    server.saved = { version: 1, step: 'data', model: { path: '/models/gone', opened: true }, data: { path: '/data/train.csv', validation: '', task: 'regress', columns: {}, checked: false }, hyperparameters: { lr: 0.2 } }
    const w = await loadPage()
    expect(currentStep(w)).toEqual(['nav-data'])
    expect(useSessionStore().restoreError).toContain('/models/gone could not be opened again')
    expect(useModelStore().path).toBe('/models/gone')
    expect(useDataStore().task).toBe('regress')
    expect(useRunStore().hyperparameters.lr).toBe(0.2)
  })

  it('starts afresh on a back end that keeps no state', async () => {
    api = setApi(new FakeApi({ appInfo: () => ({ name: 'SiVA Studio', version: '0.1.0', versions: {}, platform: 'linux' }), listRuns: () => [], recentModels: () => [] }))
    const w = await loadPage()
    expect(currentStep(w)).toEqual(['nav-model'])
    expect(useSessionStore().restored).toBe(true)
    expect(useSessionStore().restoreError).toBeUndefined()
  })
})

describe('the live runs banner', () => {
  it('lists the queued, running and paused runs on the first screen, each one click from its charts', async () => {
    server.runs = [runSummary('r-train', 'running', { step: 5, totalSteps: 40 }), runSummary('r-done', 'finished'), runSummary('r-pause', 'paused', { method: 'lora' }), runSummary('r-fail', 'failed')]
    server.saved = { version: 1, step: 'model' }
    const w = await loadPage()
    expect(currentStep(w)).toEqual(['nav-model'])
    const banner = w.get('[data-testid="live-runs"]')
    expect(banner.text()).toContain('2 runs are in training on this back end')
    expect(banner.findAll('li').map((li) => li.attributes('data-testid'))).toEqual(['live-run-r-train', 'live-run-r-pause'])
    expect(banner.get('[data-testid="live-run-r-train"]').text()).toContain('Training · SiVA · step 5 of 40')
    expect(banner.get('[data-testid="live-run-r-pause"]').text()).toContain('Paused · LoRA')
    await banner.get('[data-testid="live-run-follow-r-pause"]').trigger('click')
    await flushPromises()
    expect(currentStep(w)).toEqual(['nav-train'])
    expect(useRunStore().runId).toBe('r-pause')
    // On the Train step the run shown there is not listed again.
    expect(w.get('[data-testid="live-runs"]').findAll('li').map((li) => li.attributes('data-testid'))).toEqual(['live-run-r-train'])
  })

  it('is absent when nothing trains', async () => {
    server.runs = [runSummary('r-done', 'finished')]
    const w = await loadPage()
    expect(w.find('[data-testid="live-runs"]').exists()).toBe(false)
  })
})

describe('the run’s own configuration on the Train step', () => {
  async function trainView(): Promise<VueWrapper> {
    const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
    setActivePinia(pinia)
    await useModelStore().open('/models/tiny-bert')
    wrapper = mount(TrainView, { attachTo: document.body, global: { plugins: [pinia], stubs: { BaseChart: true } } })
    return wrapper
  }

  it('shows the run’s learning rate, not the form’s, and says where the form differs', async () => {
    server.configs['run-1'] = runConfig
    const w = await trainView()
    useRunStore().attach('run-1', runSummary('run-1', 'running'))
    await flushPromises()
    expect(api.callsOf('runConfig')).toEqual([{ runId: 'run-1' }])
    expect((w.get('[data-testid="train-lr"]').element as HTMLInputElement).value).toBe('0.01') // the form: SiVA's default
    const lr = w.get('[data-testid="run-config-learning-rate"]')
    expect(lr.text()).toContain('0.05')
    expect(lr.text()).toContain('(the form: 0.01)')
    expect(w.get('[data-testid="run-config-batch-size"]').text()).toContain('8 (the form: 16)')
    expect(w.get('[data-testid="run-config-amount"]').text()).toContain('k = 2')
    expect(w.get('[data-testid="run-config-method"]').text()).toContain('SiVA')
    expect(w.get('[data-testid="run-config-method"]').text()).not.toContain('the form')
    expect(w.get('[data-testid="run-config-backend"]').text()).toContain('cpu (the form: auto)')
    expect(w.get('[data-testid="run-config-differs"]').text()).toContain('4 settings differ') // lr, batch size, epochs, backend

    await w.get('[data-testid="run-config-load"]').trigger('click')
    for (let i = 0; i < 3; i++) await flushPromises()
    expect((w.get('[data-testid="train-lr"]').element as HTMLInputElement).value).toBe('0.05')
    expect(w.get('[data-testid="run-config-learning-rate"]').text()).not.toContain('the form')
    expect(w.find('[data-testid="run-config-differs"]').exists()).toBe(false)
  })

  it('reads the config from the run’s started event when it has one, without asking', async () => {
    const w = await trainView()
    const run = useRunStore()
    run.attach('run-2', runSummary('run-2', 'running'))
    api.last('runEvents').emit({ type: 'event', event: numbered([{ type: 'started', config: { ...runConfig, lr: 0.123 }, backend: { name: 'cpu', skipped: [] } }])[0]! })
    run.flush()
    await flushPromises()
    expect(w.get('[data-testid="run-config-learning-rate"]').text()).toContain('0.123')
    expect(api.callsOf('runConfig')).toEqual([]) // the event was in before the card showed
  })
})

describe('Open on a past run', () => {
  it('loads its model, data, layers and hyperparameters into the wizard', async () => {
    const lora: TrainConfig = {
      ...baseConfig,
      model: '/models/tiny-gpt2',
      data: '/data/other.csv',
      validation: '/data/other-val.csv',
      columns: { text: 'sentence', label: 'y' },
      method: 'lora',
      rank: 4,
      targets: '\\.attn\\.c_attn\\.[qv]$',
      overrides: [
        { pattern: '^transformer\\.h\\.0\\.attn\\.c_attn\\.v$', skip: true },
        { pattern: '^transformer\\.h\\.1\\.attn\\.c_attn\\.q$', rank: 2 }
      ],
      lr: 0.002,
      epochs: 5,
      batchSize: 8,
      backend: 'wasm'
    }
    delete (lora as Partial<TrainConfig>).perc
    server.configs['r-old'] = lora
    server.runs = [runSummary('r-old', 'finished', { model: lora.model, method: 'lora' })]
    const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
    setActivePinia(pinia)
    await useModelStore().open('/models/tiny-bert') // another model is open
    useRunStore().setHyperparameter('seed', 7) // and an edit the run did not make
    wrapper = mount(RunsView, { attachTo: document.body, global: { plugins: [pinia], stubs: { BaseChart: true } } })
    await flushPromises()
    await wrapper.get('[aria-label="Open run r-old"]').trigger('click')
    for (let i = 0; i < 5; i++) await flushPromises()

    expect(useAppStore().step).toBe('train')
    expect(useRunStore().runId).toBe('r-old')
    expect(useModelStore().summary?.path).toBe('/models/tiny-gpt2')
    const l = useLayersStore()
    expect(l.method).toBe('lora')
    expect(l.rank).toBe(4)
    expect([...l.selected].sort()).toEqual(['transformer.h.0.attn.c_attn.q', 'transformer.h.1.attn.c_attn.q', 'transformer.h.1.attn.c_attn.v'])
    expect(l.overrides).toEqual({ 'transformer.h.1.attn.c_attn.q': { rank: 2 } })
    const d = useDataStore()
    expect([d.path, d.validation, d.task]).toEqual(['/data/other.csv', '/data/other-val.csv', 'classify'])
    expect(d.columns).toEqual({ text: 'sentence', label: 'y' })
    expect(api.callsOf('checkData').at(-1)).toMatchObject({ path: '/data/other.csv', validation: '/data/other-val.csv', model: '/models/tiny-gpt2' })
    const run = useRunStore()
    // LoRA's default lr is 5e-4 and the batch 16: the run's differ, so they show as edited; its seed is the default.
    expect(run.hyperOverrides).toMatchObject({ lr: 0.002, epochs: 5, batchSize: 8, evalEvery: 2, spectraEvery: 2 })
    expect(run.hyperOverrides.seed).toBeUndefined()
    expect(run.hyperparameters.seed).toBe(42)
    expect(run.backend).toBe('wasm')
  })

  it('says why when the run’s model is gone, and leaves the wizard as it was', async () => {
    server.configs['r-gone'] = { ...runConfig, model: '/models/deleted' }
    const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
    setActivePinia(pinia)
    await useModelStore().open('/models/tiny-bert')
    useLayersStore().setBlockRange(0, 0)
    const before = [...useLayersStore().selected]
    expect(await useSessionStore().loadRunIntoWizard('r-gone')).toBe(false)
    expect(useSessionStore().loadError).toContain('/models/deleted, could not be opened')
    expect([...useLayersStore().selected]).toEqual(before)
    expect(useRunStore().hyperOverrides).toEqual({})
  })
})
