// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { setActivePinia } from 'pinia'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { AppInfo, ExportSummary, Params, RunSummary } from '@shared/api'
import type { ExportOptionsSummary } from '@shared/exportOptions'
import { useAppStore } from '@renderer/stores/app'
import { useExportsStore } from '@renderer/stores/exports'
import { useRunStore } from '@renderer/stores/run'
import ExportView from '@renderer/views/ExportView.vue'
import { FakeApi, setApi } from './fakeApi'

vi.mock('@renderer/api', () => import('./fakeApi'))

const finished: RunSummary = { id: 'run-7', dir: '/runs/run-7', created: '2025-01-01T00:00:00Z', model: '/m', data: '/d', task: 'classify', method: 'siva', status: 'finished', step: 40 }

const available = { available: true }

/** What the back end says of a SiVA run on tiny BERT: everything, checkpoints at 20 and 40, the best at 20. */
const bertOptions: ExportOptionsSummary = {
  runId: 'run-7',
  facts: { method: 'siva', task: 'classify', model: { format: 'safetensors', modelType: 'bert', transformers: true, transformersClass: 'BertForSequenceClassification' } },
  outputs: { merged: available, adapter: available, 'peft-lora': available, report: available },
  checkpoints: [
    { name: 'step-00000020', step: 20 },
    { name: 'step-00000040', step: 40 }
  ],
  best: { name: 'step-00000020', step: 20 },
  last: { name: 'step-00000040', step: 40 },
  baseModel: '/models/tiny-bert',
  labels: ['ham', 'spam']
}

const peftReason = 'PEFT loads Hugging Face transformers models, and use-lite is not one (it is a TensorFlow.js graph model): choose Merged checkpoint or SiVA adapter instead'

/** The demo's sentence encoder: no PEFT LoRA, and a merged export that is a TensorFlow.js graph model. */
const useOptions: ExportOptionsSummary = {
  ...bertOptions,
  facts: { method: 'siva', task: 'classify', model: { format: 'tfjs', modelType: 'use-lite', transformers: false } },
  outputs: { merged: available, adapter: available, 'peft-lora': { available: false, reason: peftReason }, report: available },
  baseModel: '/demo/model'
}

function written(p: Params<'exportRun'>): ExportSummary {
  const files: Record<string, string[]> = { merged: ['config.json', 'model.safetensors'], adapter: ['adapter.json', 'adapter.safetensors'], 'peft-lora': ['adapter_config.json', 'adapter_model.safetensors'], report: ['report.json', 'report.html'] }
  return {
    checkpoint: { name: 'step-00000020', step: 20 },
    outputs: Object.entries(p.outputs).map(([kind, dir]) => ({ kind: kind as 'merged', dir: dir!, bytes: kind === 'merged' ? 17_600_000 : 4_300, files: files[kind]!, ...(kind === 'merged' && { omitted: ['cls.predictions.bias', 'cls.predictions.transform.dense.weight'] }) }))
  }
}

let wrapper: VueWrapper | undefined
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
  vi.useRealTimers()
})

async function mountFor(api: FakeApi, info: Partial<AppInfo> = {}): Promise<VueWrapper> {
  setApi(api)
  const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
  setActivePinia(pinia)
  useAppStore().info = { name: 'SiVA Studio', version: '0', versions: {}, platform: 'linux', runsDir: '/runs', ...info }
  useRunStore().attach('run-7', finished)
  wrapper = mount(ExportView, { global: { plugins: [pinia] }, attachTo: document.body })
  await flushPromises()
  return wrapper
}

const outputOf = (w: VueWrapper, kind: string) => w.get(`[data-testid="export-output"][data-kind="${kind}"]`)

describe('the Export view', () => {
  it('exports the current run to folders under its own, and lists sizes, files and the lines that load each output', async () => {
    const api = new FakeApi({ listRuns: () => [finished], exportOptions: () => bertOptions, exportRun: written })
    const w = await mountFor(api)
    expect(api.callsOf('exportOptions')).toContainEqual({ runId: 'run-7' })
    expect((w.get('[data-testid="export-run"]').element as HTMLSelectElement).value).toBe('run-7')
    expect((w.get('[data-testid="export-dir-merged"]').element as HTMLInputElement).value).toBe('/runs/run-7/exports/merged')
    expect(w.find('[data-testid="export-dir-peft-lora"]').exists()).toBe(false)
    expect(w.get('[data-kind="merged"]').text()).toContain('transformers loads it as BertForSequenceClassification')
    await w.get('[data-testid="export-report"]').setValue(false)
    await w.get('[data-testid="export-peft-lora"]').setValue(true)
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(api.callsOf('exportRun')).toEqual([{ runId: 'run-7', checkpoint: 'best', outputs: { merged: '/runs/run-7/exports/merged', adapter: '/runs/run-7/exports/adapter', 'peft-lora': '/runs/run-7/exports/peft-lora' } }])
    const shown = w.get('[data-testid="export-result"]')
    expect(shown.text()).toContain('step-00000020')
    expect(shown.findAll('[data-testid="export-bytes"]').map((b) => b.text())).toEqual(['17.6 MB', '4.3 kB', '4.3 kB'])
    expect(shown.findAll('[data-testid="export-path"]').map((p) => p.text())).toEqual(['/runs/run-7/exports/merged', '/runs/run-7/exports/adapter', '/runs/run-7/exports/peft-lora'])
    expect(outputOf(w, 'merged').text()).toContain('model.safetensors')
    expect(outputOf(w, 'merged').get('[data-testid="export-omitted"]').text()).toBe('Left out 2 tensors of the base that the trained class has no place for: cls.predictions.bias, cls.predictions.transform.dense.weight.')
    expect(outputOf(w, 'adapter').find('[data-testid="export-omitted"]').exists()).toBe(false)

    const merged = outputOf(w, 'merged').get('[data-testid="export-load"]').text()
    expect(merged).toContain('from transformers import AutoModelForSequenceClassification, AutoTokenizer')
    expect(merged).toContain('model = AutoModelForSequenceClassification.from_pretrained("/runs/run-7/exports/merged")')
    expect(merged).toContain('tokenizer = AutoTokenizer.from_pretrained("/runs/run-7/exports/merged")')
    const peft = outputOf(w, 'peft-lora').get('[data-testid="export-load"]').text()
    expect(peft).toContain('from peft import AutoPeftModelForSequenceClassification')
    expect(peft).toContain('id2label = {0: "ham", 1: "spam"}')
    expect(peft).toContain('"/runs/run-7/exports/peft-lora", num_labels=len(id2label), id2label=id2label,')
    expect(outputOf(w, 'adapter').get('[data-testid="export-load"]').text()).toBe('siva export --apply /runs/run-7/exports/adapter --base /models/tiny-bert --merged /runs/run-7/exports/adapter-merged')
    // In a browser (siva serve) there is no file manager to show a folder in.
    expect(w.find('[data-testid="export-reveal"]').exists()).toBe(false)
  })

  it('offers no PEFT LoRA for the sentence encoder, says why, and calls its merged model a TensorFlow.js one', async () => {
    const api = new FakeApi({ listRuns: () => [finished], exportOptions: () => useOptions, exportRun: written })
    const w = await mountFor(api)
    const peft = w.get('[data-testid="export-peft-lora"]')
    expect(peft.attributes('disabled')).toBeDefined()
    expect((peft.element as HTMLInputElement).checked).toBe(false)
    const why = w.get('[data-testid="export-unavailable-peft-lora"]')
    expect(why.text()).toBe(`Not available: ${peftReason}.`)
    expect(peft.attributes('aria-describedby')).toBe(why.attributes('id'))
    const merged = w.get('[data-kind="merged"]').text()
    expect(merged).toContain('TensorFlow.js graph model')
    expect(merged).not.toContain('transformers')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(Object.keys((api.callsOf('exportRun')[0] as Params<'exportRun'>).outputs)).toEqual(['merged', 'adapter', 'report'])
    const load = outputOf(w, 'merged').get('[data-testid="export-load"]')
    expect(load.attributes('data-language')).toBe('javascript')
    expect(load.text()).toContain('const model = await tf.loadGraphModel("file:///runs/run-7/exports/merged/model.json")')
    expect(load.text()).not.toContain('from_pretrained')
    expect(outputOf(w, 'report').get('[data-testid="export-load"]').text()).toContain('/runs/run-7/exports/report/report.html')
  })

  it('sends the checkpoint chosen: the best, the last, or a step', async () => {
    const api = new FakeApi({ listRuns: () => [finished], exportOptions: () => bertOptions, exportRun: written })
    const w = await mountFor(api)
    const select = w.get('[data-testid="export-checkpoint"]')
    expect(select.findAll('option').map((o) => o.text())).toEqual(['Best: step 20 (by validation metric)', 'Last: step 40', 'Step 20 (best)', 'Step 40 (last)'])
    const sent: unknown[] = []
    for (const index of [1, 2, 0]) {
      ;(select.element as HTMLSelectElement).selectedIndex = index
      await select.trigger('change')
      await w.get('form').trigger('submit')
      await flushPromises()
      sent.push((api.callsOf('exportRun').at(-1) as Params<'exportRun'>).checkpoint)
    }
    expect(sent).toEqual(['last', 20, 'best'])
  })

  it('copies an output’s path, and selects it where the clipboard is refused', async () => {
    const writeText = vi.fn().mockResolvedValue(undefined)
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })
    const w = await mountFor(new FakeApi({ listRuns: () => [finished], exportOptions: () => bertOptions, exportRun: written }))
    await w.get('form').trigger('submit')
    await flushPromises()
    await outputOf(w, 'adapter').get('[data-testid="export-copy-path"]').trigger('click')
    await flushPromises()
    expect(writeText).toHaveBeenCalledWith('/runs/run-7/exports/adapter')
    expect(outputOf(w, 'adapter').get('[data-testid="export-copied"]').text()).toBe('Copied')

    writeText.mockRejectedValue(new Error('denied'))
    await outputOf(w, 'merged').get('[data-testid="export-copy-path"]').trigger('click')
    await flushPromises()
    expect(outputOf(w, 'merged').get('[data-testid="export-copied"]').text()).toMatch(/^Selected: press Ctrl\+C/)
    expect(window.getSelection()?.toString()).toBe('/runs/run-7/exports/merged')
  })

  it('shows an output in its folder in the desktop app', async () => {
    const api = new FakeApi({ listRuns: () => [finished], exportOptions: () => bertOptions, exportRun: written, revealPath: (p) => ({ revealed: p.path }) })
    const w = await mountFor(api, { canRevealPaths: true })
    await w.get('form').trigger('submit')
    await flushPromises()
    await outputOf(w, 'report').get('[data-testid="export-reveal"]').trigger('click')
    await flushPromises()
    expect(api.callsOf('revealPath')).toEqual([{ path: '/runs/run-7/exports/report' }])
  })

  it('says what it is doing while it exports', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    let finish: (summary: ExportSummary) => void = () => undefined
    const api = new FakeApi({
      listRuns: () => [finished],
      exportOptions: () => bertOptions,
      exportRun: (p) => new Promise<ExportSummary>((resolve) => (finish = () => resolve(written(p)))),
      exportProgress: () => ({ stage: 'merged', done: 3, total: 5, output: 1, outputs: 3, since: new Date().toISOString() })
    })
    const w = await mountFor(api)
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('[data-testid="export-start"]').text()).toBe('Exporting…')
    vi.advanceTimersByTime(2100)
    await flushPromises()
    expect(w.get('[data-testid="export-progress"]').text()).toBe('Exporting the merged checkpoint (1 of 3)… 60% · 2 s')
    finish(written({ runId: 'run-7', outputs: {} }))
    await flushPromises()
    expect(w.find('[data-testid="export-progress"]').exists()).toBe(false)
  })

  it('names the controls in its errors, not command-line flags', async () => {
    const refusal = '/runs/run-7/exports/merged: already exists; choose a new folder or tick Overwrite to replace it'
    const w = await mountFor(
      new FakeApi({
        listRuns: () => [finished],
        exportOptions: () => bertOptions,
        exportRun: () => {
          throw new Error(refusal)
        }
      })
    )
    // The control the message names is there, under that name.
    expect(w.get('[data-testid="export-force"]').element.closest('label')!.textContent).toMatch(/^\s*Overwrite/)
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('[data-testid="export-error"]').text()).toBe(refusal)

    const store = useExportsStore()
    store.select('run-8', { dir: '' })
    useAppStore().info = { name: 'SiVA Studio', version: '0', versions: {}, platform: 'linux' }
    await flushPromises()
    store.chosen = { merged: true, adapter: false, 'peft-lora': false, report: false }
    expect(await store.start()).toBe(false)
    expect(store.error).toBe('Choose a folder for the Merged checkpoint.')
    store.chosen = { merged: false, adapter: false, 'peft-lora': false, report: false }
    expect(await store.start()).toBe(false)
    expect(store.error).toBe('Tick at least one of Merged checkpoint, SiVA adapter, PEFT LoRA adapter, Run report.')
    expect(store.error).not.toMatch(/--/)
  })
})
