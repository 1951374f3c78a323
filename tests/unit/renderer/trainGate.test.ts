// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { setActivePinia, type Pinia } from 'pinia'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { RunSummary } from '@shared/api'
import { useAppStore } from '@renderer/stores/app'
import { useDataStore } from '@renderer/stores/data'
import { useModelStore } from '@renderer/stores/model'
import { useRunStore } from '@renderer/stores/run'
import ExportView from '@renderer/views/ExportView.vue'
import RunsView from '@renderer/views/RunsView.vue'
import TrainView from '@renderer/views/TrainView.vue'
import { unlabelledCheck, usableCheck } from './dataChecks'
import { FakeApi, setApi } from './fakeApi'
import { bertSummary } from './fixtures'
import { numbered, config } from './trainEvents'

vi.mock('@renderer/api', () => import('./fakeApi'))

// Issue 17, item 2: Start is disabled, with the reason beside it, while the Data step's check has not
// vouched for the data; a back end that refuses a run shows as an error, not as a failed run; a failed
// run is marked failed and offers no Export.

const summary = (id: string, status: RunSummary['status'], extra: Partial<RunSummary> = {}): RunSummary => ({ id, dir: `/runs/${id}`, created: '2025-01-01T00:00:00Z', model: '/m', data: '/d.csv', task: 'classify', method: 'siva', status, step: 0, ...extra })

/** What the back end answers for data its check rejects (services/dataCheck.ts, refuseUnusableRunData). */
const refusal = 'startRun: config.data: /d.csv cannot be trained on: the data check found 3 errors, the first 3: d.csv, row 2: no label in "label"; d.csv, row 3: no label in "label"; d.csv, row 4: no label in "label". Fix the training data (the Data step lists every problem) and start again.'

let wrapper: VueWrapper | undefined
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})

function pinia(): Pinia {
  const p = createTestingPinia({ stubActions: false, createSpy: vi.fn })
  setActivePinia(p)
  return p
}

async function trainView(api: FakeApi): Promise<VueWrapper> {
  setApi(api)
  const p = pinia()
  await useModelStore().open('/m')
  useDataStore().path = '/d.csv'
  wrapper = mount(TrainView, { attachTo: document.body, global: { plugins: [p], stubs: { BaseChart: true } } })
  return wrapper
}

const startButton = (w: VueWrapper): HTMLButtonElement => w.get('[data-testid="train-start"]').element as HTMLButtonElement

describe('Start on the Train step', () => {
  it('is disabled, saying why, until the data is checked, while the check finds errors, and after the columns change', async () => {
    let answer = unlabelledCheck
    const api = new FakeApi({ openModel: () => bertSummary(2), checkData: (p) => answer(p), startRun: () => summary('run-1', 'queued') })
    const w = await trainView(api)
    const data = useDataStore()

    expect(startButton(w).disabled).toBe(true)
    expect(w.get('[data-testid="train-missing"]').text()).toBe('Start is disabled: /d.csv has not been checked — check it on the Data step.')
    expect(startButton(w).getAttribute('aria-describedby')).toBe('train-missing')

    expect(await data.check()).toBe(false)
    await flushPromises()
    expect(startButton(w).disabled).toBe(true)
    expect(w.get('[data-testid="train-missing"]').text()).toBe('Start is disabled: the data check found 3 errors in /d.csv (first: d.csv, row 2: no label in "label") — fix it on the Data step.')
    // A submit that slips past the disabled button (Enter in a field) still sends nothing.
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(api.callsOf('startRun')).toEqual([])

    answer = usableCheck
    expect(await data.check()).toBe(true)
    await flushPromises()
    expect(startButton(w).disabled).toBe(false)
    expect(w.find('[data-testid="train-missing"]').exists()).toBe(false)
    expect(startButton(w).getAttribute('aria-describedby')).toBeNull()

    // The check read other columns than a run now would: it no longer vouches for the data.
    data.setColumn('label', 'sentiment')
    await flushPromises()
    expect(startButton(w).disabled).toBe(true)
    expect(w.get('[data-testid="train-missing"]').text()).toBe('Start is disabled: the columns or the validation file changed since /d.csv was checked — check it again on the Data step.')
    expect(await data.check()).toBe(true)
    await flushPromises()
    expect(startButton(w).disabled).toBe(false)

    await w.get('form').trigger('submit')
    await flushPromises()
    expect(api.callsOf('startRun')).toHaveLength(1)
  })

  it('shows the back end’s refusal as an error, with no run, status or charts', async () => {
    const api = new FakeApi({
      openModel: () => bertSummary(2),
      checkData: usableCheck,
      startRun: () => {
        throw new Error(refusal)
      }
    })
    const w = await trainView(api)
    await useDataStore().check()
    await flushPromises()
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(api.callsOf('startRun')).toHaveLength(1)
    const error = w.get('[data-testid="train-error"]')
    expect(error.attributes('role')).toBe('alert')
    expect(error.text()).toBe(refusal)
    expect(useRunStore().runId).toBeUndefined()
    expect(w.find('[data-testid="train-status"]').exists()).toBe(false)
    expect(w.find('[data-testid="loss-chart"]').exists()).toBe(false)
    expect(api.streams.filter((s) => s.method === 'runEvents')).toEqual([])
    // Nothing is stuck: Start can be pressed again once the data is fixed.
    expect(startButton(w).disabled).toBe(false)
  })

  it('marks a run whose log ends in an error as failed, with the error and no way on to Export', async () => {
    const api = new FakeApi({ openModel: () => bertSummary(2), checkData: usableCheck, startRun: () => summary('run-1', 'queued') })
    const w = await trainView(api)
    await useDataStore().check()
    await w.get('form').trigger('submit')
    await flushPromises()
    const stream = api.last('runEvents')
    for (const event of numbered([
      { type: 'started', config, backend: { name: 'cpu', skipped: [] } },
      { type: 'error', message: 'the tokenizer could not be read' }
    ])) stream.emit({ type: 'event', event })
    stream.emit({ type: 'status', run: summary('run-1', 'failed', { error: 'the tokenizer could not be read' }) })
    stream.end()
    useRunStore().flush()
    await flushPromises()
    const status = w.get('[data-testid="train-status"]')
    expect(status.attributes('data-status')).toBe('failed')
    expect(status.text()).toMatch(/^Failed · the tokenizer could not be read/)
    expect(w.findAll('button').filter((b) => /Export/.test(b.text()))).toEqual([])
  })
})

describe('a failed run in the Runs list', () => {
  it('is marked failed with its error, and its Export is disabled with the reason', async () => {
    setApi(new FakeApi({ listRuns: () => [summary('r-failed', 'failed', { created: '2025-02-01T00:00:00Z', error: 'no label column in d.csv' }), summary('r-done', 'finished', { step: 8, totalSteps: 8 })] }))
    wrapper = mount(RunsView, { global: { plugins: [pinia()] } })
    await flushPromises()
    const failed = wrapper.get('[data-run="r-failed"]')
    expect(failed.get('.status').classes()).toContain('status--failed')
    expect(failed.get('.status').text()).toBe('failed')
    expect(failed.text()).toContain('no label column in d.csv')
    const exportFailed = failed.get('[data-testid="run-export"]')
    expect(exportFailed.attributes('disabled')).toBeDefined()
    expect(exportFailed.attributes('title')).toMatch(/^No export: it failed, so there is no trained model to export/)
    expect(exportFailed.attributes('aria-label')).toMatch(/^Export run r-failed \(unavailable: it failed/)
    const exportDone = wrapper.get('[data-run="r-done"] [data-testid="run-export"]')
    expect(exportDone.attributes('disabled')).toBeUndefined()
    await exportDone.trigger('click')
    expect(useAppStore().step).toBe('export')
  })
})

describe('a failed run on the Export step', () => {
  it('is not offered from the list, and as the current run its Export is disabled with the reason', async () => {
    const api = setApi(new FakeApi({ listRuns: () => [summary('r-old-failed', 'failed', { created: '2025-03-01T00:00:00Z' }), summary('r-done', 'finished'), summary('r-now', 'failed', { created: '2025-04-01T00:00:00Z' })], exportRun: () => ({ checkpoint: { name: 'step-8', step: 8 }, outputs: [] }) }))
    const p = pinia()
    useAppStore().info = { name: 'SiVA Studio', version: '0', versions: {}, platform: 'linux', runsDir: '/runs' }
    useRunStore().attach('r-now', summary('r-now', 'failed', { error: 'no label column in d.csv' }))
    wrapper = mount(ExportView, { global: { plugins: [p] } })
    await flushPromises()
    const select = wrapper.get('[data-testid="export-run"]')
    expect((select.element as HTMLSelectElement).value).toBe('r-now')
    // Newest first; the older failed run is not offered at all.
    expect(select.findAll('option').map((o) => o.attributes('value'))).toEqual(['', 'r-now', 'r-done'])
    expect(select.get('option[value="r-now"]').text()).toBe('r-now · failed')
    expect(wrapper.get('[data-testid="export-start"]').attributes('disabled')).toBeDefined()
    expect(wrapper.get('[data-testid="export-blocked"]').text()).toBe('Export is disabled: r-now it failed, so there is no trained model to export; fix what its error says and start a new run.')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(api.callsOf('exportRun')).toEqual([])

    await select.setValue('r-done')
    await flushPromises()
    expect(wrapper.find('[data-testid="export-blocked"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="export-start"]').attributes('disabled')).toBeUndefined()
  })
})
