// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { HubDownloadSummary } from '@shared/api'
import ModelView from '@renderer/views/ModelView.vue'
import { downloadPollMs } from '@renderer/stores/model'
import { FakeApi, setApi } from './fakeApi'
import { bertSummary } from './fixtures'

vi.mock('@renderer/api', () => import('./fakeApi'))

// The Model step's Download, with the back end's answers given by hand: the engine's download itself is
// tested against a local server that answers as the Hub does (tests/unit/io/hubDownload.test.ts,
// tests/unit/services/hubDownloads.test.ts).
const cache = '/home/u/.cache/huggingface/hub'
const startedAt = '2026-12-03T10:00:00.000Z'
const running = (progress?: HubDownloadSummary['progress']): HubDownloadSummary => ({ model: 'acme/tiny-bert', state: 'running', startedAt, ...(progress && { progress }) })
const midway: HubDownloadSummary['progress'] = { stage: 'downloading', commit: 'a'.repeat(40), file: 'model.safetensors', fileIndex: 2, fileCount: 3, bytes: 1_200_000, totalBytes: 4_400_000, resumedBytes: 500_000, bytesPerSecond: 1_000_000, etaSeconds: 3.2 }

function mountView(api: FakeApi) {
  setApi(api)
  return mount(ModelView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })
}

/**
 * A back end whose `downloads` answers each poll with the next summary in `sequence` (the last repeats),
 * once a download was asked for (or from the start, with `alreadyRunning`: one started before a reload).
 */
function backEnd(sequence: HubDownloadSummary[], offline = false, alreadyRunning = false, refusal?: string): FakeApi {
  let polls = 0
  let started = alreadyRunning
  return new FakeApi({
    recentModels: () => [],
    cachedModels: () => ({ cache, offline, models: [] }),
    downloadModel: ({ model }) => {
      if (refusal !== undefined) throw new Error(refusal)
      started = true
      return { ...running(), model }
    },
    downloads: () => (started ? [sequence[Math.min(polls++, sequence.length - 1)]!] : []),
    cancelDownload: ({ model }) => ({ ...running(midway), model, state: 'cancelled', error: 'acme/tiny-bert@main: cancelled' }),
    openModel: () => ({ ...bertSummary(1), path: `${cache}/models--acme--tiny-bert/snapshots/${'a'.repeat(40)}` })
  })
}

describe('the Model step downloads a Hub id into the cache', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('offers Download for text shaped as a Hub id only, and not when HF_HUB_OFFLINE is set', async () => {
    const w = mountView(backEnd([]))
    await flushPromises()
    const input = w.get('[data-testid="model-path"]')
    expect(w.find('[data-testid="model-download"]').exists()).toBe(false)
    await input.setValue('/models/tiny-bert')
    expect(w.find('[data-testid="model-download"]').exists()).toBe(false)
    await input.setValue('org/name/extra')
    expect(w.find('[data-testid="model-download"]').exists()).toBe(false)
    await input.setValue('acme/tiny-bert@v1.0')
    expect(w.get('[data-testid="model-download"]').attributes('disabled')).toBeUndefined()

    const offline = mountView(backEnd([], true))
    await flushPromises()
    await offline.get('[data-testid="model-path"]').setValue('acme/tiny-bert')
    const button = offline.get('[data-testid="model-download"]')
    expect(button.attributes('disabled')).toBeDefined()
    expect(button.attributes('title')).toContain('HF_HUB_OFFLINE is set')
    expect(offline.get('#model-path-hint').text()).toContain('HF_HUB_OFFLINE is set: nothing is downloaded.')
  })

  it('shows bytes, rate, ETA and what was resumed while it runs, then opens the model it downloaded', async () => {
    const done: HubDownloadSummary = { ...running({ ...midway, stage: 'done', fileIndex: 3, bytes: 4_400_000, etaSeconds: 0 }), state: 'done', snapshot: `${cache}/models--acme--tiny-bert/snapshots/${'a'.repeat(40)}` }
    const api = backEnd([running({ ...midway, stage: 'listing', fileIndex: 0 }), running(midway), done])
    const w = mountView(api)
    await flushPromises()
    await w.get('[data-testid="model-path"]').setValue(' acme/tiny-bert ')
    await w.get('[data-testid="model-download"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('downloadModel')).toEqual([{ model: 'acme/tiny-bert' }])
    expect(w.get('[data-testid="model-download"]').attributes('disabled')).toBeDefined()
    expect(w.get('[data-testid="model-download-line"]').text()).toBe('Asking the Hub for acme/tiny-bert…')

    await vi.advanceTimersByTimeAsync(downloadPollMs)
    await vi.advanceTimersByTimeAsync(downloadPollMs)
    expect(w.get('[data-testid="model-download-line"]').text()).toBe('Downloading acme/tiny-bert · file 2 of 3 (model.safetensors) · 1.2 MB of 4.4 MB · 1 MB/s · about 3 s left')
    expect(w.get('[data-testid="model-download-status"]').text()).toContain('500 kB resumed from an earlier download.')
    const bar = w.get('progress')
    expect([bar.attributes('value'), bar.attributes('max')]).toEqual(['1200000', '4400000'])
    expect(api.callsOf('openModel')).toEqual([])

    await vi.advanceTimersByTimeAsync(downloadPollMs)
    await flushPromises()
    expect(w.get('[data-testid="model-download-status"]').attributes('data-state')).toBe('done')
    expect(w.get('[data-testid="model-download-line"]').text()).toBe('Downloaded acme/tiny-bert (commit aaaaaaa) into the Hugging Face cache: 4.4 MB.')
    expect(api.callsOf('openModel')).toEqual([{ path: 'acme/tiny-bert' }])
    expect(api.callsOf('cachedModels')).toHaveLength(2)
    expect(w.find('[data-testid="model-summary"]').exists()).toBe(true)
    // It stopped asking once the download ended.
    const polls = api.callsOf('downloads').length
    await vi.advanceTimersByTimeAsync(5 * downloadPollMs)
    expect(api.callsOf('downloads')).toHaveLength(polls)
  })

  it('Cancel stops it and says the partial file is kept for the next Download', async () => {
    const api = backEnd([running(midway)])
    const w = mountView(api)
    await flushPromises()
    await w.get('[data-testid="model-path"]').setValue('acme/tiny-bert')
    await w.get('[data-testid="model-download"]').trigger('click')
    await vi.advanceTimersByTimeAsync(downloadPollMs)
    await w.get('[data-testid="model-download-cancel"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('cancelDownload')).toEqual([{ model: 'acme/tiny-bert' }])
    expect(w.get('[data-testid="model-download-line"]').text()).toBe('Download of acme/tiny-bert cancelled. What came is kept in the cache; Download again resumes it.')
    expect(w.find('[data-testid="model-download-cancel"]').exists()).toBe(false)
    expect(api.callsOf('openModel')).toEqual([])
    const polls = api.callsOf('downloads').length
    await vi.advanceTimersByTimeAsync(4 * downloadPollMs)
    expect(api.callsOf('downloads')).toHaveLength(polls)
  })

  it("a failure is shown as an alert with the back end's message; a refused request too", async () => {
    const failed: HubDownloadSummary = { ...running(), state: 'failed', error: 'acme/gated@main: the Hub answered 401: the model is gated or private; accept its licence on the model page and set HF_TOKEN' }
    const w = mountView(backEnd([failed]))
    await flushPromises()
    await w.get('[data-testid="model-path"]').setValue('acme/tiny-bert')
    await w.get('[data-testid="model-download"]').trigger('click')
    await vi.advanceTimersByTimeAsync(downloadPollMs)
    expect(w.get('[data-testid="model-download-error"]').text()).toBe(`Download of acme/tiny-bert failed: ${failed.error}`)

    const v = mountView(backEnd([], false, false, 'downloadModel: 3 downloads are running already; wait for one to finish or cancel one'))
    await flushPromises()
    await v.get('[data-testid="model-path"]').setValue('acme/tiny-bert')
    await v.get('[data-testid="model-download"]').trigger('click')
    await flushPromises()
    expect(v.get('[data-testid="model-download-error"]').text()).toContain('3 downloads are running already')
  })

  it('after a reload, finds the download the back end is still running and follows it', async () => {
    const api = backEnd([running(midway)], false, true)
    const w = mountView(api)
    await flushPromises()
    expect(w.get('[data-testid="model-download-status"]').attributes('data-state')).toBe('running')
    await vi.advanceTimersByTimeAsync(downloadPollMs)
    expect(w.get('[data-testid="model-download-line"]').text()).toContain('file 2 of 3 (model.safetensors)')
  })
})
