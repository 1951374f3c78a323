import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { maxWizardStateBytes, type WizardState } from '../../../src/shared/api'
import { SivaBackend } from '../../../src/main/services/backend'
import { WizardStateStore } from '../../../src/main/services/wizardState'
import { tempDir } from '../../helpers/paths'

// Issue 17, item 1: the wizard's state is kept by the back end (one file beside the runs folder), so a
// reload restores it. The file is written whole or not at all, a damaged one reads as no state, and the
// calls refuse hostile payloads with a message naming the field.

const root = tempDir('wizard-state')
const backends: SivaBackend[] = []

afterAll(async () => {
  for (const b of backends) await b.close()
})

function backend(name: string): { b: SivaBackend; runsDir: string; file: string } {
  const runsDir = join(root, name, 'runs')
  const b = new SivaBackend({ runsDir, svdCacheDir: join(root, name, 'svd-cache') })
  backends.push(b)
  return { b, runsDir, file: join(root, name, 'wizard-state.json') }
}

const state: WizardState = {
  version: 1,
  step: 'train',
  model: { path: '/models/tiny-bert', opened: true },
  data: { path: '/data/sentiment.csv', validation: '/data/val.csv', task: 'classify', columns: { text: 'sentence', label: 'label' }, maxLength: 64, checked: true },
  layers: {
    method: 'siva',
    amountMode: 'k',
    perc: 0.1,
    k: 6,
    rank: 8,
    pattern: 'query|value',
    blockFrom: 1,
    blockTo: 1,
    selected: ['encoder.layer.1.attention.self.query'],
    overrides: [{ name: 'encoder.layer.1.attention.self.query', amount: { k: 3 } }]
  },
  hyperparameters: { lr: 0.05, epochs: 2, batchSize: 8 },
  backend: 'wasm',
  runId: '20261202-1200-tiny-bert-siva'
}

describe('WizardStateStore', () => {
  it('reads back what it saved, and nothing before the first save', async () => {
    const file = join(tempDir('wizard-store'), 'wizard-state.json')
    const store = new WizardStateStore(file)
    expect(await store.read()).toEqual({})
    const before = Date.now()
    const { savedAt } = await store.save(state)
    const back = await store.read()
    expect(back.state).toEqual(state)
    expect(back.savedAt).toBe(savedAt)
    expect(Date.parse(savedAt)).toBeGreaterThanOrEqual(before - 1000)
    // A later save replaces the earlier one.
    await store.save({ ...state, step: 'layers', hyperparameters: { lr: 0.01 } })
    expect((await store.read()).state).toMatchObject({ step: 'layers', hyperparameters: { lr: 0.01 } })
  })

  it('writes through a temp file renamed into place: none is left, and a failed save keeps the old file', async () => {
    const dir = tempDir('wizard-atomic')
    const file = join(dir, 'wizard-state.json')
    const store = new WizardStateStore(file)
    await store.save(state)
    expect(readdirSync(dir)).toEqual(['wizard-state.json'])
    const kept = readFileSync(file, 'utf8')
    // The folder turns into a file: mkdir and the temp file both fail; the saved state must still be there to read.
    const blocked = new WizardStateStore(join(file, 'nested', 'wizard-state.json'))
    await expect(blocked.save(state)).rejects.toThrow()
    expect(readFileSync(file, 'utf8')).toBe(kept)
    expect(readdirSync(dir)).toEqual(['wizard-state.json'])
  })

  it('reads a damaged, foreign or oversized file as no state, without throwing', async () => {
    const dir = tempDir('wizard-corrupt')
    const file = join(dir, 'wizard-state.json')
    const store = new WizardStateStore(file)
    for (const text of ['{"savedAt": "x", "state": {"version": 1, "step": "tra', 'null', '[]', '"text"', JSON.stringify({ savedAt: 'x', state: { ...state, version: 2 } }), JSON.stringify({ savedAt: 'x', state: { ...state, extra: true } }), JSON.stringify({ state })]) {
      writeFileSync(file, text)
      expect(await store.read(), text).toEqual({})
    }
    writeFileSync(file, JSON.stringify({ savedAt: 'x', state: { ...state, model: { path: 'a'.repeat(4000), opened: false } }, padding: 'x'.repeat(3 * maxWizardStateBytes) }))
    expect(await store.read()).toEqual({})
    // A folder where the file should be is no state either.
    mkdirSync(join(dir, 'folder.json'))
    expect(await new WizardStateStore(join(dir, 'folder.json')).read()).toEqual({})
  })

  it('refuses a state over the size limit and keeps the one before', async () => {
    const file = join(tempDir('wizard-big'), 'wizard-state.json')
    const store = new WizardStateStore(file)
    await store.save(state)
    // 600 names of 512 characters: every field is within its own bound, the whole is over 256 KiB.
    const big: WizardState = { ...state, layers: { ...state.layers!, selected: Array.from({ length: 600 }, (_, i) => `m${i}`.padEnd(512, 'y')) } }
    expect(JSON.stringify(big).length).toBeGreaterThan(maxWizardStateBytes)
    await expect(store.save(big)).rejects.toThrow(/more than the 262144 kept/)
    expect((await store.read()).state).toEqual(state)
  })
})

describe('the wizardState, saveWizardState and runConfig calls', () => {
  it('round-trip through the dispatcher into a file beside the runs folder', async () => {
    const { b, runsDir, file } = backend('round-trip')
    expect(await b.call('wizardState', {})).toEqual({})
    await b.call('saveWizardState', { state })
    expect(dirname(file)).toBe(dirname(runsDir))
    expect(JSON.parse(readFileSync(file, 'utf8')).state).toEqual(state)
    const back = (await b.call('wizardState', {})) as { state?: WizardState }
    expect(back.state?.hyperparameters?.lr).toBe(0.05)
  })

  const hostile: [string, unknown, RegExp][] = [
    ['no state', {}, /saveWizardState: state/],
    ['a state of the wrong type', { state: 'train' }, /saveWizardState: state/],
    ['an unknown field', { state: { ...state, script: 'alert(1)' } }, /saveWizardState: state/],
    ['an unknown step', { state: { ...state, step: 'settings' } }, /saveWizardState: state\.step/],
    ['a model path over 4,096 characters', { state: { ...state, model: { path: 'a'.repeat(5000), opened: true } } }, /saveWizardState: state\.model\.path/],
    ['a run id that climbs out of the runs folder', { state: { ...state, runId: '../../etc' } }, /saveWizardState: state\.runId: a run id is letters/],
    ['an unknown method', { state: { ...state, layers: { ...state.layers, method: 'rm -rf' } } }, /saveWizardState: state\.layers\.method/],
    ['a learning rate out of range', { state: { ...state, hyperparameters: { lr: -1 } } }, /saveWizardState: state\.hyperparameters\.lr/],
    ['a hyperparameter the run does not have', { state: { ...state, hyperparameters: { lr: 0.1, model: '/x' } } }, /saveWizardState: state\.hyperparameters/],
    ['too many overrides', { state: { ...state, layers: { ...state.layers, overrides: Array.from({ length: 20001 }, () => ({ name: 'a', amount: {} })) } } }, /saveWizardState: state\.layers\.overrides/],
    ['a version from the future', { state: { ...state, version: 2 } }, /saveWizardState: state\.version/],
    ['extra top-level params', { state, more: 1 }, /saveWizardState/]
  ]
  it.each(hostile)('refuse %s with a message, writing nothing', async (_what, params, message) => {
    const { b, file } = backend(`hostile-${hostile.findIndex(([w]) => w === _what)}`)
    await expect(b.call('saveWizardState', params)).rejects.toThrow(message)
    expect(() => readFileSync(file)).toThrow()
    expect(await b.call('wizardState', {})).toEqual({})
  })

  it('refuse params on wizardState and a hostile run id on runConfig', async () => {
    const { b } = backend('hostile-read')
    await expect(b.call('wizardState', { path: '/etc/passwd' })).rejects.toThrow(/wizardState/)
    await expect(b.call('runConfig', { runId: '../secrets' })).rejects.toThrow(/runConfig: runId: a run id is letters/)
    await expect(b.call('runConfig', { runId: 'no-such-run' })).rejects.toThrow(/no-such-run: no such run/)
  })

  it('runConfig answers a run folder’s own configuration', async () => {
    const { b, runsDir } = backend('run-config')
    const dir = join(runsDir, '20261202-1200-tiny-siva')
    mkdirSync(dir, { recursive: true })
    const config = { model: '/m', data: '/d.csv', task: 'classify', method: 'siva', k: 4, lr: 0.05, epochs: 2, batchSize: 8 }
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ config, created: '2026-12-02T12:00:00.000Z', versions: {} }))
    expect(await b.call('runConfig', { runId: '20261202-1200-tiny-siva' })).toEqual({ config })
    writeFileSync(join(dir, 'run.json'), '{ not json')
    await expect(b.call('runConfig', { runId: '20261202-1200-tiny-siva' })).rejects.toThrow(/cannot be read/)
  })
})
