import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { methods } from '../../../src/shared/api'
import { runNameLimit, runNotesLimit } from '../../../src/shared/runMeta'
import { trainingDefaults } from '../../../src/shared/trainDefaults'
import type { TrainEvent } from '../../../src/shared/training'
import { defaultTrainConfig } from '../../../src/main/engine/training/loop'
import { findDemo } from '../../../src/main/services/demoAssets'
import { runMetaFile } from '../../../src/main/services/runMeta'
import { defaultRunName, modelName, nameFromPath } from '../../../src/main/services/runName'
import { RunSupervisor } from '../../../src/main/services/runSupervisor'
import type { TrainingSessionLike } from '../../../src/main/workers/gpuTrainingSession'
import type { TrainingSessionOptions } from '../../../src/main/workers/trainingSession'
import { repoRoot, tempDir } from '../../helpers/paths'

const models = join(repoRoot, 'tests', 'fixtures', 'models')
const spam = join(repoRoot, 'tests', 'fixtures', 'samples', 'spam.csv')

describe('a run is named after its model and method', () => {
  it("takes config.json's _name_or_path (its last part) when it has one", async () => {
    // tiny-random-gpt2's config.json says "_name_or_path": "hf-internal-testing/tiny-random-gpt2"; the f16 copy sits in a folder of another name.
    expect(await defaultRunName({ model: join(models, 'tiny-gpt2-f16'), task: 'causal-lm', method: 'siva' })).toBe('tiny-random-gpt2-siva')
    expect(await defaultRunName({ model: join(models, 'tiny-random-gpt2'), task: 'causal-lm', method: 'lora' })).toBe('tiny-random-gpt2-lora')
  })

  it('takes the model type and the task when config.json names no model', async () => {
    expect(await defaultRunName({ model: join(models, 'tiny-bert'), task: 'classify', method: 'siva' })).toBe('bert-cls-siva')
    expect(await defaultRunName({ model: join(models, 'tiny-roberta'), task: 'regress', method: 'topk' })).toBe('roberta-reg-topk')
    expect(await defaultRunName({ model: join(models, 'tiny-vit'), task: 'image-classify', method: 'head' })).toBe('vit-cls-head')
  })

  it("names the demo's sentence encoder after what it is, not its dist folder", async () => {
    const demo = findDemo()
    expect(demo, 'the demo model ships with the app').toBeDefined()
    expect(demo!.model.split(/[\\/]/).at(-1)).toBe('dist')
    const name = await defaultRunName({ model: demo!.model, task: 'classify', method: 'siva' })
    expect(name).toBe('use-lite-cls-siva')
    expect(name).not.toMatch(/dist/)
  })

  it('falls back on the path, passing over generic folders, hashes and numbered checkpoints', async () => {
    expect(nameFromPath('/home/me/finetuned-sst2/checkpoint-500')).toBe('finetuned-sst2')
    expect(nameFromPath('/cache/huggingface/hub/models--google-bert--bert-base-uncased/snapshots/86b5e0934494bd15c9632b12f734a8a67f723594')).toBe('bert-base-uncased')
    expect(nameFromPath('/srv/app/node_modules/some-encoder/dist')).toBe('some-encoder')
    expect(nameFromPath('./out/model/')).toBeUndefined()
    expect(nameFromPath('/a b/my model (v2)')).toBe('my-model-v2')
    // Meaningless _name_or_path values give way to the model type.
    expect(modelName('/x/dist', 'classify', { modelType: 'bert', raw: { _name_or_path: './output' } })).toBe('bert-cls')
    expect(modelName('/x/dist', 'classify', { modelType: 'bert', raw: { _name_or_path: '' } })).toBe('bert-cls')
    expect(modelName('/x/dist', 'classify', { raw: { name_or_path: 'org/my-tuned-bert' } })).toBe('my-tuned-bert')
    // Nothing in the config: the path's last meaningful folder, never `dist`.
    expect(modelName('/x/mailer/dist', 'classify')).toBe('mailer')
    expect(modelName('/dist', 'classify')).toBe('model')
  })

  it("a missing or unreadable checkpoint is named after its path (the run fails later and says why)", async () => {
    const dir = tempDir('unreadable-model')
    const model = join(dir, 'my-broken-model')
    mkdirSync(model)
    writeFileSync(join(model, 'config.json'), '{ not json')
    expect(await defaultRunName({ model, task: 'classify', method: 'siva' })).toBe('my-broken-model-siva')
  })
})

/** A trainer that never trains: the supervisor's seam for where a run trains, so starting writes nothing but what the test writes. */
function idleSessions(made: TrainingSessionOptions[]): (options: TrainingSessionOptions) => TrainingSessionLike {
  return (options) => {
    made.push(options)
    let stop: () => void = () => undefined
    const done = new Promise<never>((_, reject) => (stop = () => reject(new Error('stopped'))))
    done.catch(() => undefined)
    return { done, pause: () => undefined, resume: () => undefined, cancel: () => stop(), kill: async () => stop() }
  }
}

describe('run ids made by startRun', () => {
  it('are the UTC stamp, the model name and the method; filesystem-safe, unique when two start in the same second', async () => {
    const runsDir = tempDir('run-ids')
    const made: TrainingSessionOptions[] = []
    const supervisor = new RunSupervisor({ runsDir, svdCacheDir: join(runsDir, 'svd'), sessionFactory: idleSessions(made) })
    const input = { model: join(models, 'tiny-bert'), data: spam, task: 'classify' as const, method: 'siva' as const }
    const first = await supervisor.start(input)
    const second = await supervisor.start(input)
    expect(first.id).toMatch(/^\d{8}-\d{6}-bert-cls-siva(-\d+)?$/)
    expect(second.id).toMatch(/^\d{8}-\d{6}-bert-cls-siva(-\d+)?$/)
    expect(second.id).not.toBe(first.id)
    expect(methods.pauseRun.params.safeParse({ runId: first.id }).success).toBe(true)
    // A name given at the start makes the id, cleaned, and is the run's display name as typed.
    const named = await supervisor.start({ ...input, method: 'lora' }, '  My run / ünïcode  ')
    expect(named.id).toMatch(/^\d{8}-\d{6}-My-run-n-code$/)
    expect(named.name).toBe('My run / ünïcode')
    await expect(supervisor.start(input, 'two\nlines')).rejects.toThrow(/one line/)
    await supervisor.close()
  })
})

/** A run folder as a finished run leaves it: run.json and its events. */
function writeRun(runsDir: string, id: string): { dir: string; runJson: string; events: string } {
  const dir = join(runsDir, id)
  mkdirSync(join(dir, 'checkpoints'), { recursive: true })
  const config = defaultTrainConfig({ model: '/models/tiny-bert', data: '/data/sentiment.csv', task: 'classify' })
  const runJson = `${JSON.stringify({ config, created: '2026-12-01T10:10:10.000Z', versions: {} }, null, 2)}\n`
  writeFileSync(join(dir, 'run.json'), runJson)
  const events: TrainEvent[] = [
    { index: 0, time: '2026-12-01T10:10:11.000Z', type: 'started', config, backend: { name: 'cpu', skipped: [] } },
    { index: 1, time: '2026-12-01T10:10:20.000Z', type: 'finished', step: 3, seconds: 9 }
  ]
  const text = events.map((e) => `${JSON.stringify(e)}\n`).join('')
  writeFileSync(join(dir, 'events.jsonl'), text)
  return { dir, runJson, events: text }
}

describe('updateRun: a run renamed and annotated', () => {
  it('stores name and notes in the run folder, leaves run.json and the events as they were, and lists them', async () => {
    const runsDir = tempDir('run-meta')
    const run = writeRun(runsDir, '20261201-101010-bert-cls-siva')
    const other = writeRun(runsDir, '20261201-111111-bert-cls-lora')
    const supervisor = new RunSupervisor({ runsDir, svdCacheDir: join(runsDir, 'svd') })

    const answer = await supervisor.update('20261201-101010-bert-cls-siva', { name: 'Baseline, perc 0.25', notes: 'Layer 1 only.\nHead lr 3e-2.' })
    expect(answer).toMatchObject({ id: '20261201-101010-bert-cls-siva', name: 'Baseline, perc 0.25', notes: 'Layer 1 only.\nHead lr 3e-2.', status: 'finished' })
    expect(JSON.parse(readFileSync(join(run.dir, runMetaFile), 'utf8'))).toEqual({ name: 'Baseline, perc 0.25', notes: 'Layer 1 only.\nHead lr 3e-2.' })
    expect(readFileSync(join(run.dir, 'run.json'), 'utf8')).toBe(run.runJson)
    expect(readFileSync(join(run.dir, 'events.jsonl'), 'utf8')).toBe(run.events)
    // Written through a temp file and a rename: nothing is left beside it.
    expect(readdirSync(run.dir).sort()).toEqual(['checkpoints', 'events.jsonl', 'run.json', runMetaFile].sort())

    // Round trip, through a fresh back end reading the folder.
    const fresh = new RunSupervisor({ runsDir, svdCacheDir: join(runsDir, 'svd') })
    const listed = await fresh.list()
    expect(listed.find((r) => r.id === '20261201-101010-bert-cls-siva')).toMatchObject({ name: 'Baseline, perc 0.25', notes: 'Layer 1 only.\nHead lr 3e-2.' })
    const plain = listed.find((r) => r.id === '20261201-111111-bert-cls-lora')!
    expect(plain.name).toBeUndefined()
    expect(plain.notes).toBeUndefined()
    expect(existsSync(join(other.dir, runMetaFile))).toBe(false)

    // A field left out stays; an empty one is removed (the view shows the id again).
    expect(await fresh.update('20261201-101010-bert-cls-siva', { notes: 'Rerun with seed 7.' })).toMatchObject({ name: 'Baseline, perc 0.25', notes: 'Rerun with seed 7.' })
    const cleared = await fresh.update('20261201-101010-bert-cls-siva', { name: '   ' })
    expect(cleared.name).toBeUndefined()
    expect(cleared.notes).toBe('Rerun with seed 7.')
    expect(JSON.parse(readFileSync(join(run.dir, runMetaFile), 'utf8'))).toEqual({ notes: 'Rerun with seed 7.' })
    expect(readFileSync(join(run.dir, 'run.json'), 'utf8')).toBe(run.runJson)
  })

  it('two quick edits of one run both land', async () => {
    const runsDir = tempDir('run-meta-race')
    writeRun(runsDir, 'r1')
    const supervisor = new RunSupervisor({ runsDir, svdCacheDir: join(runsDir, 'svd') })
    await Promise.all([supervisor.update('r1', { name: 'first' }), supervisor.update('r1', { notes: 'second' })])
    expect((await supervisor.list())[0]).toMatchObject({ name: 'first', notes: 'second' })
  })

  it('refuses hostile or oversized input without crashing, and writes nothing', async () => {
    const schema = methods.updateRun.params
    expect(schema.shape.name.unwrap().maxLength).toBe(runNameLimit)
    expect(schema.shape.notes.unwrap().maxLength).toBe(runNotesLimit)
    const refused: unknown[] = [
      { runId: '../../etc', name: 'x' },
      { runId: 'r1/..', name: 'x' },
      { runId: 'r1', name: 'a'.repeat(runNameLimit + 1) },
      { runId: 'r1', notes: 'n'.repeat(runNotesLimit + 1) },
      { runId: 'r1', name: 'two\nlines' },
      { runId: 'r1', name: 'bell\u0007' },
      { runId: 'r1', name: 42 },
      { runId: 'r1', notes: { toString: 'x' } },
      { runId: 'r1', name: 'x', config: { lr: 1 } },
      { runId: 'r1', extra: true }
    ]
    for (const params of refused) expect(schema.safeParse(params).success, JSON.stringify(params)).toBe(false)
    expect(schema.safeParse({ runId: 'r1', name: 'a'.repeat(runNameLimit), notes: 'line 1\nline 2\t<script>alert(1)</script>' }).success).toBe(true)

    const runsDir = tempDir('run-meta-hostile')
    const run = writeRun(runsDir, 'r1')
    const supervisor = new RunSupervisor({ runsDir, svdCacheDir: join(runsDir, 'svd') })
    // The supervisor checks again (it is called from more than the schema-checked back end).
    await expect(supervisor.update('r1', { name: 'two\nlines' })).rejects.toThrow(/one line/)
    await expect(supervisor.update('r1', { notes: 'n'.repeat(runNotesLimit + 1) })).rejects.toThrow(/at most 4000/)
    await expect(supervisor.update('nope', { name: 'x' })).rejects.toThrow(/no such run/)
    // A folder without run.json is not a run, and gets no file.
    mkdirSync(join(runsDir, 'not-a-run'))
    await expect(supervisor.update('not-a-run', { name: 'x' })).rejects.toThrow(/no such run/)
    expect(readdirSync(join(runsDir, 'not-a-run'))).toEqual([])
    expect(existsSync(join(run.dir, runMetaFile))).toBe(false)

    // A hand-broken file is read as nothing (or as what is valid in it), never fails the list.
    writeFileSync(join(run.dir, runMetaFile), '{ broken')
    expect((await supervisor.list())[0]!.name).toBeUndefined()
    writeFileSync(join(run.dir, runMetaFile), JSON.stringify({ name: 'ok\u0000no', notes: 'kept' }))
    expect((await supervisor.list())[0]).toMatchObject({ notes: 'kept' })
    expect((await supervisor.list())[0]!.name).toBeUndefined()
    writeFileSync(join(run.dir, runMetaFile), JSON.stringify(['not', 'an', 'object']))
    expect((await supervisor.list())[0]!.name).toBeUndefined()
  })

  it('a queued run named before its folder exists gets the file once its trainer has made the folder', async () => {
    const runsDir = tempDir('run-meta-queued')
    const made: TrainingSessionOptions[] = []
    const supervisor = new RunSupervisor({ runsDir, svdCacheDir: join(runsDir, 'svd'), sessionFactory: idleSessions(made) })
    const started = await supervisor.start({ model: join(models, 'tiny-bert'), data: spam, task: 'classify', method: 'siva' })
    const dir = join(runsDir, started.id)
    expect(existsSync(dir)).toBe(false)
    expect(await supervisor.update(started.id, { name: 'queued one', notes: 'made early' })).toMatchObject({ name: 'queued one', notes: 'made early' })
    // Nothing written into a folder the trainer has yet to make (it would refuse a folder that holds files).
    expect(existsSync(dir)).toBe(false)
    expect((await supervisor.list()).find((r) => r.id === started.id)).toMatchObject({ name: 'queued one' })
    // The trainer makes the folder and logs its first event.
    const config = defaultTrainConfig({ model: join(models, 'tiny-bert'), data: spam, task: 'classify' })
    mkdirSync(dir)
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ config, created: started.created, versions: {} }))
    made[0]!.onEvent({ index: 0, time: new Date().toISOString(), type: 'started', config, backend: { name: 'cpu', skipped: [] } })
    await expect.poll(() => existsSync(join(dir, runMetaFile))).toBe(true)
    expect(JSON.parse(readFileSync(join(dir, runMetaFile), 'utf8'))).toEqual({ name: 'queued one', notes: 'made early' })
    await supervisor.close()
  })
})

describe('the Train step’s optimiser defaults', () => {
  it('are the engine’s own, for every task and method', () => {
    for (const task of ['classify', 'regress', 'causal-lm', 'image-classify'] as const) {
      for (const method of ['siva', 'lora', 'full', 'head'] as const) {
        const engine = defaultTrainConfig({ model: '/m', data: '/d', task, method })
        const shown = Object.fromEntries(Object.keys(trainingDefaults).map((key) => [key, engine[key as keyof typeof trainingDefaults]]))
        expect(shown).toEqual(trainingDefaults)
      }
    }
  })
})
