// Worker entry for one training run: the engine's loop, its SVDs in a nested analysis pool, and the
// pause/resume/cancel messages. Thin on purpose: the loop lives in the engine.
import { parentPort } from 'node:worker_threads'
import { cachedDecompose } from '../engine/peft'
import { TrainControl, trainRun } from '../engine/training/loop'
import { AnalysisPool } from './analysisPool'
import { workerParallelEncoding } from './encodePool'
import { gemmThreadCount, startGemmThreads } from './gemmThreads'
import type { TrainingCommand, TrainingReport } from './trainingProtocol'

if (!parentPort) throw new Error('trainingWorker must run in a worker thread')
const port = parentPort
const control = new TrainControl()
let started = false

const send = (report: TrainingReport): void => port.postMessage(report)

port.on('message', (command: TrainingCommand) => {
  switch (command.type) {
    case 'pause':
      control.pause()
      return
    case 'resume':
      control.resume()
      return
    case 'cancel':
      control.cancel()
      return
    case 'start':
      if (started) return
      started = true
      void run(command)
  }
})

async function run(command: Extract<TrainingCommand, { type: 'start' }>): Promise<void> {
  const pool = new AnalysisPool(command.svdWorkers)
  let stopGemm: (() => Promise<void>) | undefined
  // Our wasm matmul takes helper threads; the native backends thread on their own.
  const onBackend = (choice: { matmul?: string }): number => {
    if (!choice.matmul?.startsWith('siva') || gemmThreadCount() === 1) return 1
    stopGemm = startGemmThreads()
    return gemmThreadCount()
  }
  try {
    const decompose = cachedDecompose(pool.runSvd, command.svdCacheDir === undefined ? {} : { cacheDir: command.svdCacheDir })
    const what = command.resume ? { resume: true as const } : command.config!
    let outcome: 'finished' | 'cancelled' = 'finished'
    for await (const event of trainRun(what, command.runDir, { decompose, control, onBackend, parallelEncoding: workerParallelEncoding(), ...(command.versions && { versions: command.versions }), ...(command.lockToken && { lockToken: command.lockToken }) })) {
      send({ type: 'event', event })
      if (event.type === 'cancelled') outcome = 'cancelled'
    }
    send({ type: 'done', outcome })
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error))
    send({ type: 'failed', message: e.message, name: e.name })
  } finally {
    await stopGemm?.()
    await pool.close()
    port.close()
  }
}
