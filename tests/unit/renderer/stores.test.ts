// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { RunSummary } from '@shared/api'
import { useAppStore } from '@renderer/stores/app'
import { useDataStore } from '@renderer/stores/data'
import { useExportsStore } from '@renderer/stores/exports'
import { useInspectStore } from '@renderer/stores/inspect'
import { useModelStore } from '@renderer/stores/model'
import { useRunsStore } from '@renderer/stores/runs'
import { FakeApi, setApi } from './fakeApi'
import { bertSummary, spectrum } from './fixtures'

vi.mock('@renderer/api', () => import('./fakeApi'))

beforeEach(() => {
  setActivePinia(createTestingPinia({ stubActions: false, createSpy: vi.fn }))
})

const run = (id: string, created: string, status: RunSummary['status'] = 'finished'): RunSummary => ({ id, dir: `/runs/${id}`, created, model: '/m', data: '/d', task: 'classify', method: 'siva', status, step: 10 })

describe('the model store', () => {
  it('asks for a folder before calling the back end, and shows the back end’s error', async () => {
    const api = setApi(
      new FakeApi({
        openModel: () => {
          throw new Error('/nope: no config.json')
        }
      })
    )
    const model = useModelStore()
    expect(await model.open('   ')).toBe(false)
    expect(model.error).toMatch(/Enter the folder/)
    expect(api.calls).toEqual([])
    expect(await model.open('/nope')).toBe(false)
    expect(model.error).toBe('/nope: no config.json')
    expect(model.summary).toBeUndefined()
    expect(model.opening).toBe(false)
  })

  it('a failed open leaves no model open: the previous one is not what the next steps use', async () => {
    setApi(
      new FakeApi({
        recentModels: () => [],
        openModel: ({ path }) => {
          if (path === '/broken') throw new Error('/broken: no config.json')
          return { ...bertSummary(1), path }
        }
      })
    )
    const model = useModelStore()
    expect(await model.open('/models/tiny-bert')).toBe(true)
    expect(model.summary?.path).toBe('/models/tiny-bert')
    expect(await model.open('/broken')).toBe(false)
    expect(model.summary).toBeUndefined()
    expect(model.trainable).toBe(false)
    expect(model.error).toBe('/broken: no config.json')
  })

  it('knows when a model can only be inspected', async () => {
    setApi(new FakeApi({ openModel: () => ({ ...bertSummary(1), targets: [], notTrainable: 'llama is not supported yet' }) }))
    const model = useModelStore()
    await model.open('/llama')
    expect(model.trainable).toBe(false)
  })
})

describe('the recent models', () => {
  it('are refreshed after a model opens, and shown on the Model step to open again', async () => {
    const recent = [{ path: '/models/tiny-bert', modelType: 'bert', architectures: ['BertForSequenceClassification'], openedAt: '2026-11-29T06:00:00Z' }, { path: '/models/gpt2', modelType: 'gpt2', architectures: ['GPT2LMHeadModel'], openedAt: '2026-11-28T06:00:00Z' }]
    const api = setApi(new FakeApi({ openModel: ({ path }) => ({ ...bertSummary(1), path }), recentModels: () => recent }))
    const model = useModelStore()
    await model.loadRecent()
    expect(model.recent.map((m) => m.path)).toEqual(['/models/tiny-bert', '/models/gpt2'])
    await model.open('/models/gpt2')
    await new Promise((r) => setTimeout(r, 0))
    expect(api.callsOf('recentModels')).toHaveLength(2)
  })

  it('a back end that cannot list them leaves the list empty, not an error', async () => {
    setApi(new FakeApi({}))
    const model = useModelStore()
    await model.loadRecent()
    expect(model.recent).toEqual([])
    expect(model.error).toBeUndefined()
  })
})

describe('the data store', () => {
  it('checks the file with the task, the columns the task reads, and the open model’s tokenizer', async () => {
    const api = setApi(
      new FakeApi({
        openModel: () => bertSummary(1),
        checkData: (p) => ({ file: p.path, task: p.task, rows: 3, usable: false, problems: [{ severity: 'error', code: 'missing-label', message: 'no label', row: 3, column: 'label' }], moreProblems: 0, columns: { available: ['sentence', 'label'], used: {} }, preview: [] })
      })
    )
    await useModelStore().open('/models/tiny-bert')
    const data = useDataStore()
    data.path = ' /data/train.csv '
    data.setColumn('text', 'sentence')
    data.setColumn('prompt', 'ignored for classification')
    data.setColumn('label', '  ')
    expect(await data.check()).toBe(false)
    expect(api.callsOf('checkData')).toEqual([{ path: '/data/train.csv', task: 'classify', model: '/models/tiny-bert', columns: { text: 'sentence' } }])
    expect(data.errors).toBe(1)
    expect(data.ready).toBe(false)
  })
})

describe("the data store's error count", () => {
  it('counts the validation file’s errors with the training data’s', async () => {
    setApi(
      new FakeApi({
        checkData: (p) => ({
          file: p.path,
          task: p.task,
          rows: 4,
          usable: false,
          problems: [{ severity: 'warning', code: 'duplicate-rows', message: 'a repeat', row: 3 }],
          moreProblems: 0,
          columns: { available: ['text', 'label'], used: {} },
          preview: [],
          validation: { file: '/dev.csv', rows: 4, usable: false, moreProblems: 0, problems: [{ severity: 'error', code: 'label-unseen', message: 'unseen', row: 4 }, { severity: 'error', code: 'label-unseen', message: 'unseen', row: 5 }] }
        })
      })
    )
    const data = useDataStore()
    data.path = '/train.csv'
    data.validation = '/dev.csv'
    expect(await data.check()).toBe(false)
    expect(data.errors).toBe(2)
    expect(data.ready).toBe(false)
  })
})

describe('the runs store', () => {
  it('lists runs newest first and deletes one', async () => {
    const api = setApi(new FakeApi({ listRuns: () => [run('a', '2025-01-01T00:00:00Z'), run('b', '2025-03-01T00:00:00Z')], deleteRun: ({ runId }) => ({ deleted: runId }) }))
    const runs = useRunsStore()
    await runs.refresh()
    expect(runs.runs.map((r) => r.id)).toEqual(['b', 'a'])
    expect(await runs.remove('b')).toBe(true)
    expect(api.callsOf('deleteRun')).toEqual([{ runId: 'b' }])
    expect(runs.runs.map((r) => r.id)).toEqual(['a'])
  })
})

describe('the exports store', () => {
  it('defaults each folder under the run’s folder and sends what is chosen', async () => {
    const api = setApi(new FakeApi({ exportRun: () => ({ checkpoint: { name: 'best', step: 8 }, outputs: [{ kind: 'adapter', dir: '/runs/r1/exports/adapter', bytes: 2048, files: ['adapter.safetensors'] }] }) }))
    useAppStore().info = { name: 'SiVA Studio', version: '0', versions: {}, platform: 'linux', runsDir: '/home/me/runs' }
    const exportsStore = useExportsStore()
    exportsStore.select('r1')
    expect(exportsStore.defaultFolders.merged).toBe('/home/me/runs/r1/exports/merged')
    exportsStore.select('r1', { dir: '/elsewhere/r1' })
    expect(exportsStore.defaultFolders.adapter).toBe('/elsewhere/r1/exports/adapter')
    exportsStore.chosen = { merged: false, adapter: true, 'peft-lora': true, report: false }
    exportsStore.compact = true
    exportsStore.setFolder('peft-lora', '/out/lora')
    exportsStore.checkpoint = 'last'
    expect(await exportsStore.start()).toBe(true)
    expect(api.callsOf('exportRun')).toEqual([{ runId: 'r1', checkpoint: 'last', outputs: { adapter: '/elsewhere/r1/exports/adapter', 'peft-lora': '/out/lora' }, compact: true }])
    expect(exportsStore.result?.outputs[0]!.bytes).toBe(2048)
  })

  it('uses the runs folder’s own separator on Windows, and refuses an empty choice', async () => {
    setApi(new FakeApi())
    useAppStore().info = { name: 'SiVA Studio', version: '0', versions: {}, platform: 'win32', runsDir: 'C:\\Users\\me\\runs\\' }
    const exportsStore = useExportsStore()
    exportsStore.select('r2')
    expect(exportsStore.defaultFolders.report).toBe('C:\\Users\\me\\runs\\r2\\exports\\report')
    exportsStore.chosen = { merged: false, adapter: false, 'peft-lora': false, report: false }
    expect(await exportsStore.start()).toBe(false)
    expect(exportsStore.error).toMatch(/at least one/)
  })
})

describe('the inspect store', () => {
  it('streams spectra of any file and places them by block and role', () => {
    const api = setApi(new FakeApi())
    const inspect = useInspectStore()
    inspect.run('/models/llama/model.safetensors')
    const stream = api.last('analyseLayers')
    stream.emit({ type: 'progress', done: 1, total: 3, layer: spectrum('model.layers.0.self_attn.q_proj.weight', [16, 16]) })
    stream.emit({ type: 'progress', done: 2, total: 3, layer: spectrum('model.layers.1.mlp.down_proj.weight', [16, 64]) })
    stream.emit({ type: 'progress', done: 3, total: 3, layer: spectrum('transformer.h.2.attn.c_attn.weight.k', [32, 32]) })
    inspect.flush()
    expect(inspect.rows.map((r) => [r.block, r.role])).toEqual([
      [0, 'query'],
      [1, 'mlp.out'],
      [2, 'key']
    ])
    expect(inspect.heatmap.cells).toHaveLength(3)
    stream.end('cancelled')
    expect(inspect.running).toBe(false)
    expect(inspect.error).toBe('cancelled')
  })
})
