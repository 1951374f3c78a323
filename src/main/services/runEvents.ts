import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Params, RunSummary, StreamEvents } from '../../shared/api'
import type { TrainEvent } from '../../shared/training'
import { EventLog, readRunInfo } from '../engine/training/runFolder'
import { RequestError } from './requestError'
import type { RunListener, RunSupervisor } from './runSupervisor'

/**
 * The runEvents stream: a run's events from `after` + 1 on, replayed from its events.jsonl, then live while
 * it trains (or waits in the queue), with a status message whenever the supervisor changes its status.
 */
export async function streamRunEvents(supervisor: RunSupervisor, runsDir: string, p: Params<'runEvents'>, emit: (event: StreamEvents['runEvents']) => void, signal: AbortSignal): Promise<void> {
  const run = supervisor.live(p.runId)
  const dir = join(runsDir, p.runId)
  if (!run && !existsSync(join(dir, 'run.json'))) throw new RequestError(`${p.runId}: no such run`)
  let last = p.after ?? -1
  const send = (event: TrainEvent): void => {
    if (event.index <= last) return
    last = event.index
    emit({ type: 'event', event })
  }
  // Listen first and hold live events until the replay from disk is out: nothing is missed or sent twice.
  const held: TrainEvent[] = []
  let replaying = true
  let finish: (() => void) | undefined
  const listener: RunListener = {
    event: (event) => {
      if (replaying) held.push(event)
      else send(event)
    },
    status: () => {
      emit({ type: 'status', run: { ...run!.summary } })
      if (!run!.session && run!.summary.status !== 'queued') finish?.()
    }
  }
  run?.listeners.add(listener)
  try {
    if (existsSync(join(dir, 'events.jsonl'))) for (const event of await EventLog.read(dir, last)) send(event)
    replaying = false
    for (const event of held) send(event)
    if (run) emit({ type: 'status', run: { ...run.summary } })
    if (!run || (!run.session && run.summary.status !== 'queued')) return
    await new Promise<void>((resolve) => {
      finish = resolve
      signal.addEventListener('abort', () => resolve(), { once: true })
    })
  } finally {
    run?.listeners.delete(listener)
  }
}

/** A run that no trainer of this back end owns, as its folder tells it. */
export async function summaryFromDisk(runsDir: string, id: string): Promise<RunSummary> {
  const dir = join(runsDir, id)
  const info = await readRunInfo(dir)
  const summary: RunSummary = { id, dir, created: info.created, model: info.config.model, data: info.config.data, task: info.config.task, method: info.config.method, status: 'interrupted', step: 0 }
  for (const event of await EventLog.read(dir).catch(() => [])) foldEvent(summary, event)
  return summary
}

/** Keep a run's summary up to date with its events. */
export function foldEvent(summary: RunSummary, event: TrainEvent): void {
  switch (event.type) {
    case 'prepared':
      summary.totalSteps = event.totalSteps
      summary.trainable = event.parameters.total
      break
    case 'step':
      summary.step = event.step
      break
    case 'eval':
      summary.metrics = event.metrics
      break
    case 'paused':
      summary.status = 'paused'
      break
    case 'resumed':
      summary.status = 'running'
      break
    case 'cancelled':
      summary.status = 'cancelled'
      break
    case 'finished':
      summary.status = 'finished'
      break
    case 'error':
      summary.status = 'failed'
      summary.error = event.message
      break
  }
}
