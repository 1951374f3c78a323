import { existsSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { Params, RunSummary, StreamEvents } from '../../shared/api'
import { lastMetrics, replayRunTimeline, settledStatus, type RunStatus, type RunTimeline } from '../../shared/runTimeline'
import type { TrainConfig, TrainEvent } from '../../shared/training'
import { EventLog, readRunInfo } from '../engine/training/runFolder'
import { runLockHolder, type RunLockOwner } from '../engine/training/runLock'
import { RequestError } from './requestError'
import type { RunListener, RunSupervisor } from './runSupervisor'

/**
 * The runEvents stream: a run's events from `after` + 1 on, replayed from its events.jsonl, then live while
 * this back end trains it (or holds it in the queue), with a status message whenever its status changes.
 * Every stream that ends on its own ends with the run's status, so a view never shows a run as running
 * when no trainer is left to finish it.
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
      emit({ type: 'status', run: supervisor.summary(p.runId)! })
      if (!supervisor.isActive(p.runId)) finish?.()
    }
  }
  run?.listeners.add(listener)
  try {
    if (existsSync(join(dir, 'events.jsonl'))) for (const event of await EventLog.read(dir, last)) send(event)
    replaying = false
    for (const event of held) send(event)
    const summary = supervisor.summary(p.runId) ?? (await summaryFromDisk(runsDir, p.runId).catch(() => undefined))
    if (summary) emit({ type: 'status', run: summary })
    if (!supervisor.isActive(p.runId)) return
    await new Promise<void>((resolve) => {
      finish = resolve
      signal.addEventListener('abort', () => resolve(), { once: true })
    })
  } finally {
    run?.listeners.delete(listener)
  }
}

/** The fields of a run summary that its events decide, read through the shared timeline. */
export function timelineFields(t: RunTimeline, status: RunStatus): Pick<RunSummary, 'status' | 'step' | 'totalSteps' | 'trainable' | 'metrics' | 'best' | 'error'> {
  const metrics = lastMetrics(t)
  return {
    status,
    step: t.step,
    ...(t.totalSteps !== undefined && { totalSteps: t.totalSteps }),
    ...(t.parameters && { trainable: t.parameters.total }),
    ...(metrics && { metrics }),
    ...(t.best && { best: t.best }),
    ...(t.error !== undefined && { error: t.error })
  }
}

/** A run's summary fields that its folder's run.json (or the config it starts with) decides. */
export function runFields(runsDir: string, id: string, created: string, config: TrainConfig): Pick<RunSummary, 'id' | 'dir' | 'created' | 'model' | 'data' | 'task' | 'method'> {
  return { id, dir: join(runsDir, id), created, model: config.model, data: config.data, task: config.task, method: config.method }
}

/** A run's folder read back: its config and its events' timeline. */
export async function readRunFolder(runsDir: string, id: string): Promise<{ created: string; config: TrainConfig; timeline: RunTimeline }> {
  const dir = join(runsDir, id)
  const info = await readRunInfo(dir)
  // A run that failed before its first event has run.json and no events.jsonl: as good as an empty log.
  const events = await EventLog.read(dir).catch((): TrainEvent[] => [])
  return { created: info.created, config: info.config, timeline: replayRunTimeline(events) }
}

/**
 * The trainer of another process that holds a run's lock (`siva train` in a terminal, another back end),
 * if one is alive. A lock naming this very process is not one: every trainer of this back end is a live
 * run it knows, so such a lock was left by a worker that died.
 */
export async function otherTrainer(dir: string): Promise<RunLockOwner | undefined> {
  const holder = await runLockHolder(dir)
  return holder && !(holder.pid === process.pid && holder.host === hostname()) ? holder : undefined
}

/**
 * A run that no trainer of this back end owns, as its folder tells it: running (or paused) while another
 * process's trainer holds its lock, cut short (interrupted) if its log is still open and nobody does.
 */
export async function summaryFromDisk(runsDir: string, id: string): Promise<RunSummary> {
  const { created, config, timeline } = await readRunFolder(runsDir, id)
  const live = (await otherTrainer(join(runsDir, id))) !== undefined
  return { ...runFields(runsDir, id, created, config), ...timelineFields(timeline, settledStatus(timeline, live)) }
}
