import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunSummary, StreamEvents } from '../../src/shared/api'
import { replayRunTimeline, settledStatus } from '../../src/shared/runTimeline'
import type { TrainConfig, TrainEvent } from '../../src/shared/training'
import { buildReport } from '../../src/main/engine/export/report'
import { defaultTrainConfig, TrainControl, trainRun } from '../../src/main/engine/training/loop'
import { EventLog } from '../../src/main/engine/training/runFolder'
import { lockFileName, lockFileText, processStartTime, runLockHolder } from '../../src/main/engine/training/runLock'
import { SivaBackend } from '../../src/main/services/backend'
import { inProcessDecompose as decompose } from '../helpers/decompose'
import { tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'

// A run's lifecycle read from real event logs: tiny-bert trained by the real loop (in process, or in the
// back end's training worker), paused, resumed, killed, continued. The back end (its list and its stream's
// last word) and the report must read the same log as the shared timeline does (src/shared/runTimeline.ts);
// the renderer's side, which cannot import the engine, is tests/unit/renderer/runLifecycle.test.ts.

let root: string
let runsDir: string
let model: string
let data: string
const backends: SivaBackend[] = []

beforeAll(() => {
  root = tempDir('run-lifecycle')
  runsDir = join(root, 'runs')
  model = tinyBertWithTokenizer(join(root, 'tiny-bert'))
  data = sentimentCsv(join(root, 'sentiment.csv'), 64)
})

afterAll(async () => {
  for (const backend of backends) await backend.close()
})

const config = (partial: Partial<TrainConfig> = {}): TrainConfig =>
  defaultTrainConfig({ model, data, task: 'classify', epochs: 2, maxSteps: 8, batchSize: 8, seed: 3, evalEvery: 4, spectraEvery: 0, checkpointEvery: 2, backend: 'wasm', ...partial })

/**
 * Train in process with the real loop; `script` sees each event and may pause, resume or cancel through
 * the control, or return 'kill' to drop the generator there, as a killed process leaves its log.
 */
async function train(what: TrainConfig | { resume: true }, runDir: string, script: (event: TrainEvent, control: TrainControl) => 'kill' | void = () => undefined): Promise<TrainEvent[]> {
  const control = new TrainControl()
  const events: TrainEvent[] = []
  for await (const event of trainRun(what, runDir, { decompose, control })) {
    events.push(event)
    if (script(event, control) === 'kill') break
  }
  return events
}

let shared: SivaBackend | undefined
/** One back end that only reads the runs folder (each back end starts a pool of SVD workers). */
const reader = (): SivaBackend => (shared ??= backend())

function backend(): SivaBackend {
  const b = new SivaBackend({ runsDir, svdCacheDir: join(root, 'svd-cache') })
  backends.push(b)
  return b
}

/** What each reader of a run folder says its status is: the back end's list, its stream's last word, the report, the shared reducer. */
async function statuses(id: string, b = reader()): Promise<{ backEnd: string; stream: string | undefined; report: string; shared: string }> {
  const dir = join(runsDir, id)
  const events = await EventLog.read(dir)
  const listed = (await b.call('listRuns', {})) as RunSummary[]
  // The Train view's stream of a run no trainer owns: the replay, then the back end's word, then the end.
  const streamed: StreamEvents['runEvents'][] = []
  await b.stream('runEvents', { runId: id, after: -1 }, (e) => streamed.push(e as StreamEvents['runEvents']), new AbortController().signal)
  const status = streamed.findLast((e) => e.type === 'status')
  return {
    backEnd: listed.find((r) => r.id === id)!.status,
    stream: status?.type === 'status' ? status.run.status : undefined,
    report: (await buildReport(dir)).status,
    // Alive: a live process holds the run's lock.
    shared: settledStatus(replayRunTimeline(events), (await runLockHolder(dir)) !== undefined)
  }
}

const everywhere = (status: string): Record<string, string> => ({ backEnd: status, stream: status, report: status, shared: status })

describe('one reading of a run log: back end, report and renderer', () => {
  it('a run paused and then killed (the app quit while it was paused) is interrupted everywhere, not paused forever', async () => {
    const id = 'paused-then-killed'
    const events = await train(config(), join(runsDir, id), (event, control) => {
      if (event.type === 'step' && event.step === 3) control.pause()
      if (event.type === 'paused') return 'kill'
    })
    expect(events.at(-1)).toMatchObject({ type: 'paused', step: 3 })
    expect(await statuses(id)).toEqual(everywhere('interrupted'))
    // The log itself says paused; only a host that knows no trainer is alive may say interrupted.
    expect(replayRunTimeline(events).status).toBe('paused')
    expect(settledStatus(replayRunTimeline(events), true)).toBe('paused')
  })

  it('a run paused, resumed and then killed is interrupted everywhere, not running forever', async () => {
    const id = 'resumed-then-killed'
    const events = await train(config(), join(runsDir, id), (event, control) => {
      if (event.type === 'step' && event.step === 2) control.pause()
      if (event.type === 'paused') setTimeout(() => control.resume(), 120)
      if (event.type === 'step' && event.step === 5) return 'kill'
    })
    expect(events.map((e) => e.type)).toContain('resumed')
    expect(await statuses(id)).toEqual(everywhere('interrupted'))
    const timeline = replayRunTimeline(events)
    // The pause lasted the 120 ms the script waited (its events' own clock, so at least that).
    expect(timeline.pausedSeconds).toBeGreaterThanOrEqual(0.1)
    expect(timeline.pausedSeconds).toBeLessThan(30)
    expect(timeline).toMatchObject({ step: 5, totalSteps: 8, resumedFrom: [] })
  })

  it('finished, cancelled and failed runs read the same everywhere, with the same step, counts and error', async () => {
    await train(config({ maxSteps: 4 }), join(runsDir, 'finished'))
    await train(config(), join(runsDir, 'cancelled'), (event, control) => void (event.type === 'step' && event.step === 2 && control.cancel()))
    const bad = join(root, 'bad.csv')
    await import('node:fs').then((fs) => fs.writeFileSync(bad, 'text,label\ngood,pos\n,neg\n'))
    await expect(train(config({ data: bad }), join(runsDir, 'failed'))).rejects.toThrow(/row 3/)
    const b = reader()
    expect(await statuses('finished', b)).toEqual(everywhere('finished'))
    expect(await statuses('cancelled', b)).toEqual(everywhere('cancelled'))
    expect(await statuses('failed', b)).toEqual(everywhere('failed'))

    const listed = (await b.call('listRuns', {})) as RunSummary[]
    const finished = listed.find((r) => r.id === 'finished')!
    const log = await EventLog.read(join(runsDir, 'finished'))
    const evals = log.filter((e): e is Extract<TrainEvent, { type: 'eval' }> => e.type === 'eval')
    const prepared = log.find((e): e is Extract<TrainEvent, { type: 'prepared' }> => e.type === 'prepared')!
    expect(finished).toMatchObject({ step: 4, totalSteps: 4, trainable: prepared.parameters.total, metrics: evals.at(-1)!.metrics })
    const report = await buildReport(join(runsDir, 'finished'))
    expect(report.stepsDone).toBe(finished.step)
    expect(report.totalSteps).toBe(finished.totalSteps)
    const failed = listed.find((r) => r.id === 'failed')!
    expect(failed.error).toMatch(/row 3/)
    expect((await buildReport(join(runsDir, 'failed'))).error).toBe(failed.error)
  })

  it('killed after a checkpoint and resumed by the engine: the timeline drops what came after the checkpoint', async () => {
    const id = 'killed-resumed'
    const dir = join(runsDir, id)
    // Checkpoints at 2 and 4; killed after step 5 and its evaluation at 4 stays, as the checkpoint at 4 holds it.
    await train(config({ evalEvery: 3 }), dir, (event) => (event.type === 'step' && event.step === 5 ? 'kill' : undefined))
    const cut = replayRunTimeline(await EventLog.read(dir))
    expect(cut.evaluations.map((e) => e.step)).toEqual([3])
    expect(cut.step).toBe(5)
    // Resumed and killed before a step: the run stands at its checkpoint's step again.
    await train({ resume: true }, dir, (event) => (event.type === 'prepared' ? 'kill' : undefined))
    const restarted = replayRunTimeline(await EventLog.read(dir))
    expect(restarted).toMatchObject({ step: 4, resumedFrom: [4], status: 'running' })
    expect(await statuses(id)).toEqual(everywhere('interrupted'))
    await train({ resume: true }, dir)
    const done = replayRunTimeline(await EventLog.read(dir))
    expect(done).toMatchObject({ status: 'finished', step: 8, resumedFrom: [4, 4] })
    expect(done.evaluations.map((e) => e.step)).toEqual([3, 6, 8])
    expect(await statuses(id)).toEqual(everywhere('finished'))
  })
})

/** Follow a run on the back end until its status message says it has ended (or `until` says stop). */
function follow(b: SivaBackend, runId: string, until: (e: StreamEvents['runEvents']) => boolean = (e) => e.type === 'status' && !['queued', 'running', 'paused'].includes(e.run.status)): Promise<StreamEvents['runEvents'][]> {
  const seen: StreamEvents['runEvents'][] = []
  const controller = new AbortController()
  return new Promise((resolve, reject) => {
    b.stream('runEvents', { runId, after: -1 }, (raw) => {
      const e = raw as StreamEvents['runEvents']
      seen.push(e)
      if (until(e)) {
        controller.abort()
        resolve(seen)
      }
    }, controller.signal).then(() => resolve(seen), reject)
  })
}

const eventsOf = (seen: StreamEvents['runEvents'][]): TrainEvent[] => seen.flatMap((e) => (e.type === 'event' ? [e.event] : []))

describe('the app continues an interrupted run (continueRun)', () => {
  it('a run whose trainer was killed mid-way shows as interrupted after a restart, continues from its checkpoint and finishes', async () => {
    const first = backend()
    // Enough steps that the kill lands mid-way.
    const started = (await first.call('startRun', { config: { model, data, task: 'classify', epochs: 20, maxSteps: 60, batchSize: 8, checkpointEvery: 3, evalEvery: 20, backend: 'wasm' } })) as RunSummary
    await follow(first, started.id, (e) => e.type === 'event' && e.event.type === 'checkpoint')
    // The old quit: the worker terminated at once, no checkpoint beyond the one written.
    await first.close()
    const log = await EventLog.read(started.dir)
    const lastCheckpoint = log.filter((e): e is Extract<TrainEvent, { type: 'checkpoint' }> => e.type === 'checkpoint').at(-1)!
    expect(['finished', 'cancelled', 'error']).not.toContain(log.at(-1)!.type)

    // The app again, on the same runs folder.
    const second = backend()
    const listed = ((await second.call('listRuns', {})) as RunSummary[]).find((r) => r.id === started.id)!
    expect(listed.status).toBe('interrupted')
    const continued = (await second.call('continueRun', { runId: started.id })) as RunSummary
    expect(continued).toMatchObject({ id: started.id, status: expect.stringMatching(/queued|running/) })
    // Continuing twice is refused while it trains.
    await expect(second.call('continueRun', { runId: started.id })).rejects.toThrow(/only an interrupted or cancelled run can be continued/)
    const seen = await follow(second, started.id)
    const after = eventsOf(seen).filter((e) => e.index > log.at(-1)!.index)
    expect(after[0]).toMatchObject({ type: 'started', resumedFrom: lastCheckpoint.step })
    expect(after.at(-1)!.type).toBe('finished')
    const final = ((await second.call('listRuns', {})) as RunSummary[]).find((r) => r.id === started.id)!
    expect(final).toMatchObject({ status: 'finished', step: 60, totalSteps: 60 })
    // The log's indices continue across the two trainers: one stream, no gaps, no repeats.
    const indices = (await EventLog.read(started.dir)).map((e) => e.index)
    expect(indices).toEqual(indices.map((_, i) => i))
    // A finished run cannot be continued; an unknown one is named.
    await expect(second.call('continueRun', { runId: started.id })).rejects.toThrow(/is finished; only an interrupted or cancelled run/)
    await expect(second.call('continueRun', { runId: 'nope' })).rejects.toThrow(/nope: no such run/)
    await expect(second.call('continueRun', { runId: '../x' })).rejects.toThrow(/runId: a run id is letters/)
    await second.close()
  })
})

describe('a run another process trains', () => {
  it('reads as running while that process holds its lock, cannot be continued, and is interrupted once the process is gone', async () => {
    const id = 'trained-elsewhere'
    const dir = join(runsDir, id)
    await train(config(), dir, (event) => (event.type === 'step' && event.step === 3 ? 'kill' : undefined))
    // A live process of this machine (standing in for `siva train` in a terminal) holds the run's lock.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' })
    try {
      await new Promise((resolve) => other.once('spawn', resolve))
      const start = processStartTime(other.pid!)
      writeFileSync(join(dir, lockFileName), lockFileText({ pid: other.pid!, host: hostname(), ...(start !== undefined && { processStart: start }), token: 'elsewhere', since: new Date().toISOString() }))
      const b = reader()
      expect(await statuses(id, b)).toEqual(everywhere('running'))
      await expect(b.call('continueRun', { runId: id })).rejects.toThrow(new RegExp(`another trainer is using this run \\(process ${other.pid} on `))
    } finally {
      other.kill()
      await new Promise((resolve) => other.once('exit', resolve))
    }
    // Its trainer is gone and left its lock behind: a stale lock, and an interrupted run.
    expect(existsSync(join(dir, lockFileName))).toBe(true)
    expect(await statuses(id)).toEqual(everywhere('interrupted'))
    rmSync(join(dir, lockFileName))
  })
})

describe('quitting stops runs with a checkpoint (stopRuns)', () => {
  it('stops a run in training at a step boundary with a checkpoint, bounded, and the app continues it later', async () => {
    const b = backend()
    const run = (await b.call('startRun', { config: { model, data, task: 'classify', epochs: 50, batchSize: 8, checkpointEvery: 1000, evalEvery: 1000, backend: 'wasm' } })) as RunSummary
    await follow(b, run.id, (e) => e.type === 'event' && e.event.type === 'step' && e.event.step >= 2)
    const startedAt = Date.now()
    const report = await b.stopRuns(20_000)
    expect(Date.now() - startedAt).toBeLessThan(20_000)
    expect(report).toEqual({ stopped: [run.id], killed: [] })
    const log = await EventLog.read(run.dir)
    const cancelled = log.at(-1)!
    expect(cancelled.type).toBe('cancelled')
    const checkpoint = log.at(-2)!
    expect(checkpoint).toMatchObject({ type: 'checkpoint', step: (cancelled as { step: number }).step })
    const latest = JSON.parse(readFileSync(join(run.dir, 'checkpoints', 'latest.json'), 'utf8')) as { name: string }
    expect(latest.name).toBe((checkpoint as { name: string }).name)
    expect(existsSync(join(run.dir, 'checkpoints', latest.name, 'state.json'))).toBe(true)
    // Quitting: nothing new starts.
    await expect(b.call('startRun', { config: { model, data, task: 'classify', backend: 'wasm' } })).rejects.toThrow(/quitting/)

    // After the restart it continues from that checkpoint.
    const again = backend()
    expect(((await again.call('listRuns', {})) as RunSummary[]).find((r) => r.id === run.id)!.status).toBe('cancelled')
    await again.call('continueRun', { runId: run.id })
    const seen = await follow(again, run.id, (e) => e.type === 'event' && e.event.type === 'started' && e.event.index > cancelled.index)
    expect(eventsOf(seen).at(-1)).toMatchObject({ type: 'started', resumedFrom: (cancelled as { step: number }).step })
    await again.call('cancelRun', { runId: run.id })
    await follow(again, run.id)
    await Promise.all([b.close(), again.close()])
  })

  it('a trainer that does not stop in time is terminated; its run reads as interrupted', async () => {
    const b = backend()
    const run = (await b.call('startRun', { config: { model, data, task: 'classify', epochs: 50, batchSize: 8, backend: 'wasm' } })) as RunSummary
    await follow(b, run.id, (e) => e.type === 'event' && e.event.type === 'step')
    expect(await b.stopRuns(0)).toEqual({ stopped: [], killed: [run.id] })
    await b.close()
    expect(await statuses(run.id)).toEqual(everywhere('interrupted'))
  })
})
