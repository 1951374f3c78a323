import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { defaultTrainConfig } from '../../src/main/engine/training/loop'
import type { TrainEvent } from '../../src/shared/training'
import { TrainingSession } from '../../src/main/workers/trainingSession'
import { tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'

// The training worker through its real message protocol: a worker thread, pause, resume, cancel, a crash.
let model: string
let data: string
beforeAll(() => {
  const dir = tempDir('training-worker')
  model = tinyBertWithTokenizer(join(dir, 'tiny-bert'))
  data = sentimentCsv(join(dir, 'sentiment.csv'), 96)
})

const config = (): ReturnType<typeof defaultTrainConfig> => defaultTrainConfig({ model, data, task: 'classify', epochs: 3, batchSize: 4, seed: 8, backend: 'wasm', checkpointEvery: 5 })

describe('TrainingSession (worker thread)', () => {
  it('pauses, resumes and cancels on command, with a checkpoint at the cancel', async () => {
    const events: TrainEvent[] = []
    let session: TrainingSession | undefined = undefined
    const waitFor = (type: TrainEvent['type']): Promise<void> =>
      new Promise((resolve) => {
        const check = setInterval(() => {
          if (events.some((e) => e.type === type)) {
            clearInterval(check)
            resolve()
          }
        }, 20)
      })
    session = new TrainingSession({
      runDir: join(tempDir('worker-run'), 'run'),
      // Far more steps than the test needs: the run must still be training when the cancel arrives.
      config: { ...config(), epochs: 200 },
      onEvent: (event) => {
        events.push(event)
        if (event.type === 'step' && event.step === 3) session!.pause()
      }
    })
    await waitFor('paused')
    const pausedAt = (events.find((e) => e.type === 'paused') as Extract<TrainEvent, { type: 'paused' }>).step
    await new Promise((resolve) => setTimeout(resolve, 300))
    // Nothing moves while paused.
    expect(events.filter((e) => e.type === 'step').length).toBe(pausedAt)
    session.resume()
    await waitFor('resumed')
    session.cancel()
    expect(await session.done).toBe('cancelled')
    const types = events.map((e) => e.type)
    expect(types.indexOf('paused')).toBeLessThan(types.indexOf('resumed'))
    expect(types.slice(-2)).toEqual(['checkpoint', 'cancelled'])
    expect(events.find((e) => e.type === 'started')).toMatchObject({ backend: { name: 'wasm' } })
  }, 120_000)

  it('a worker that dies says so, and the run folder keeps its last checkpoint', async () => {
    const runDir = join(tempDir('worker-crash'), 'run')
    const events: TrainEvent[] = []
    const session: TrainingSession = new TrainingSession({
      runDir,
      config: config(),
      onEvent: (event) => {
        events.push(event)
        if (event.type === 'checkpoint') void session.kill()
      }
    })
    await expect(session.done).rejects.toThrow(/the training worker stopped unexpectedly \(exit code \d+\); resume the run from its last checkpoint/)
    const resumed: TrainEvent[] = []
    const again = new TrainingSession({ runDir, resume: true, onEvent: (event) => resumed.push(event) })
    expect(await again.done).toBe('finished')
    expect(resumed[0]).toMatchObject({ type: 'started', resumedFrom: 5 })
  }, 120_000)

  it('a second session on a run that one is training is refused, naming this process; the first goes on', async () => {
    const runDir = join(tempDir('worker-locked'), 'run')
    let second: Promise<unknown> | undefined
    const first: TrainingSession = new TrainingSession({
      runDir,
      // Long enough to be training still when the second has been refused (a loaded machine starts a worker slowly); cancelled then.
      config: { ...config(), epochs: 200 },
      onEvent: (event) => {
        if (event.type !== 'step' || second) return
        second = new TrainingSession({ runDir, resume: true, onEvent: () => {} }).done.then(
          () => 'finished',
          (error: Error) => error.message
        )
        void second.then(() => first.cancel())
      }
    })
    expect(await first.done).toBe('cancelled')
    expect(await second).toContain(`${runDir}: another trainer is using this run (process ${process.pid} on`)
  }, 120_000)

  it('an engine error comes back as a rejected run with its message', async () => {
    const session = new TrainingSession({ runDir: join(tempDir('worker-error'), 'run'), config: { ...config(), model: '/nowhere/model' }, onEvent: () => {} })
    await expect(session.done).rejects.toThrow(/nowhere/)
  }, 60_000)
})
