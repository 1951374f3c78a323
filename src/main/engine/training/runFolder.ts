import { randomBytes } from 'node:crypto'
import { appendFile, mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { openSafetensors, writeJsonAtomically, writeSafetensors } from '../io'
import { describeSystemError } from '../io/errors'
import { processAlive } from '../io/processes'
import type { TrainConfig, TrainEvent } from '../../../shared/training'
import type { DataFingerprint } from './fingerprint'
import { lockFileName, lockFileText, type RunLockOwner } from './runLock'

/**
 * A run's folder:
 *
 *   run.json              the full configuration, backend, versions and data fingerprint
 *   events.jsonl          every event, appended as it happens (a reconnecting view replays it)
 *   data/                 the checked, encoded and split data
 *   checkpoints/step-N/   trainable.safetensors (variables and optimiser moments) + state.json
 *   checkpoints/latest.json, best.json   which checkpoint is the newest, and the best so far
 *   lock.json             the trainer that owns the folder now (runLock.ts)
 *
 * Checkpoints are written into a temporary folder and renamed whole, and latest.json is replaced
 * atomically after, so a run killed at any moment resumes from a complete checkpoint.
 */

/** A run folder's date prefix: `20261129-081530` (UTC), sorting in time order. */
export function runStamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')
}

export interface RunInfo {
  config: TrainConfig
  created: string
  versions: Record<string, string>
  backend?: string
  /** The training (and validation) data as it was when the run started. */
  data?: { train: DataFingerprint; validation?: DataFingerprint }
}

/**
 * Make a new run folder with its run.json and its trainer's lock, whole or not at all: it is built in a
 * hidden sibling and renamed into place, so a failure (a full disk) leaves nothing that blocks a rerun.
 * A folder that is empty, or half made by an older version (no run.json, only empty folders and temp
 * files), is taken; one holding anything else is refused.
 */
export async function createRunFolder(dir: string, info: RunInfo, owner: RunLockOwner): Promise<void> {
  const parent = dirname(dir)
  const name = basename(dir)
  try {
    await mkdir(parent, { recursive: true })
    await removeStaleBuilds(parent)
  } catch (error) {
    throw new Error(`${dir}: cannot create the run folder: ${describeSystemError(error)}`, { cause: error })
  }
  if (!(await reusableFolder(dir))) throw new Error(`${dir} already holds a run (or other files); choose a new folder, or resume it with --resume`)
  const building = join(parent, `.${name}.siva-run-${process.pid}-${randomBytes(4).toString('hex')}.tmp`)
  try {
    await mkdir(join(building, 'checkpoints'), { recursive: true })
    await writeJsonAtomically(join(building, 'run.json'), info)
    // The lock goes in with the folder: the run is never visible without its trainer's lock.
    await writeFile(join(building, lockFileName), lockFileText(owner), { flag: 'wx' })
    await clearHalfMade(dir)
    await rename(building, dir)
  } catch (error) {
    await rm(building, { recursive: true, force: true }).catch(() => undefined)
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new Error(`${dir} already holds a run (another one was created there just now); choose a new folder`, { cause: error })
    throw new Error(`${dir}: cannot create the run folder: ${describeSystemError(error)}; nothing was left behind, so the same command can be run again`, { cause: error })
  }
}

/** An absent or empty folder, or one an interrupted creation left: nothing but empty folders and temp files. */
async function reusableFolder(dir: string): Promise<boolean> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true
    throw new Error(`${dir}: cannot read the run folder: ${describeSystemError(error)}`, { cause: error })
  }
  for (const entry of entries) {
    if (entry.isFile() && isTempName(entry.name)) continue
    if (entry.isDirectory() && entry.name === 'checkpoints' && (await readdir(join(dir, entry.name))).every(isTempName)) continue
    return false
  }
  return true
}

/**
 * Empty a folder reusableFolder accepted, then remove it, entry by entry and never recursively: should a
 * run appear there meanwhile, rmdir fails (ENOTEMPTY) rather than deleting it.
 */
async function clearHalfMade(dir: string): Promise<void> {
  let entries: string[]
  try {
    entries = await readdir(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  for (const entry of entries) {
    if (entry === 'checkpoints') {
      for (const temp of (await readdir(join(dir, entry))).filter(isTempName)) await rm(join(dir, entry, temp), { recursive: true, force: true })
      await rmdir(join(dir, entry))
    } else if (isTempName(entry)) await rm(join(dir, entry), { force: true })
  }
  await rmdir(dir)
}

/**
 * Folders killed creations left in the runs' parent folder (their process is gone), whichever run they were
 * for: they hold a run.json, and should not be mistaken for runs for long.
 */
async function removeStaleBuilds(parent: string): Promise<void> {
  for (const entry of await readdir(parent)) {
    const match = /^\..+\.siva-run-(\d+)-[0-9a-f]+\.tmp$/.exec(entry)
    if (match && !processAlive(Number(match[1]))) await rm(join(parent, entry), { recursive: true, force: true })
  }
}

/** Temp files as this code base names them: `.NAME….tmp`. */
const isTempName = (name: string): boolean => name.startsWith('.') && name.endsWith('.tmp')

/**
 * Temp files an earlier trainer of this run left when it was killed mid-write (`.train.ids.PID.….tmp` and
 * the like, which its own cleanup never reached). Called under the run's lock, so no live trainer writes
 * any of them: every one in data/ and checkpoints/ is a leftover. At the top level only the trainer's own
 * files' temps are: an export into the run folder stages its output there too, and may be running.
 */
export async function removeLeftovers(dir: string): Promise<string[]> {
  const removed: string[] = []
  const ownTopLevel = /^\.(run\.json|basis\.json|basis\.safetensors|events\.jsonl)\./
  for (const [folder, mine] of [[dir, (name: string) => ownTopLevel.test(name)], [join(dir, 'data'), () => true], [join(dir, 'checkpoints'), () => true]] as const) {
    let entries: string[]
    try {
      entries = await readdir(folder)
    } catch {
      continue
    }
    for (const entry of entries.filter((name) => isTempName(name) && mine(name))) {
      await rm(join(folder, entry), { recursive: true, force: true })
      removed.push(join(folder, entry))
    }
  }
  return removed
}

export async function readRunInfo(dir: string): Promise<RunInfo> {
  try {
    return JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as RunInfo
  } catch (error) {
    throw new Error(`${dir}: not a run folder (no readable run.json): ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
}

/** events.jsonl, appended one line per event; indices continue across resumes. */
export class EventLog {
  private constructor(
    private readonly file: string,
    private next: number
  ) {}

  static async open(dir: string): Promise<EventLog> {
    const file = join(dir, 'events.jsonl')
    let count = 0
    try {
      const text = await readFile(file, 'utf8')
      // A line cut short by a kill is not an event; drop it so the file stays valid JSON Lines.
      const lines = text.split('\n')
      const complete = lines.filter((line, i) => line !== '' && (i < lines.length - 1 || isJson(line)))
      count = complete.length
      if (!text.endsWith('\n') && text.length > 0) await writeFile(file, complete.map((l) => `${l}\n`).join(''))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    return new EventLog(file, count)
  }

  /** Stamp an event with its index and time, append it, and return it. */
  async append<E extends DistributiveOmit<TrainEvent, 'index' | 'time'>>(event: E): Promise<TrainEvent> {
    const stamped = { index: this.next++, time: new Date().toISOString(), ...event } as TrainEvent
    await appendFile(this.file, `${JSON.stringify(stamped)}\n`)
    return stamped
  }

  static async read(dir: string, after = -1): Promise<TrainEvent[]> {
    const text = await readFile(join(dir, 'events.jsonl'), 'utf8')
    return text
      .split('\n')
      .filter((line) => line !== '' && isJson(line))
      .map((line) => JSON.parse(line) as TrainEvent)
      .filter((event) => event.index > after)
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never

function isJson(line: string): boolean {
  try {
    JSON.parse(line)
    return true
  } catch {
    return false
  }
}

/** Where training stood at a checkpoint: enough to continue exactly. */
export interface CheckpointState {
  /** Optimiser steps taken (the optimiser's own step count too). */
  step: number
  epoch: number
  /** Micro-batches of this epoch already consumed. */
  cursor: number
  best?: { step: number; metric: number; metrics: Record<string, number> }
  seconds: number
}

export interface CheckpointTensors {
  /** Trainable variables in a fixed order (adapters, then head, then base for full fine-tuning). */
  variables: { shape: number[]; values: Float32Array }[]
  moments: { m: Float32Array; v: Float32Array }[]
}

const checkpointName = (step: number): string => `step-${String(step).padStart(7, '0')}`

export async function writeCheckpoint(dir: string, state: CheckpointState, tensors: CheckpointTensors, keep = 2): Promise<string> {
  const root = join(dir, 'checkpoints')
  const name = checkpointName(state.step)
  const temp = join(root, `.${name}.${randomBytes(4).toString('hex')}.tmp`)
  await mkdir(temp, { recursive: true })
  try {
    await writeSafetensors(
      join(temp, 'trainable.safetensors'),
      tensors.variables.flatMap((v, i) => [
        { name: `variable.${i}`, dtype: 'F32' as const, shape: v.shape, data: v.values },
        { name: `moment.m.${i}`, dtype: 'F32' as const, shape: v.shape, data: tensors.moments[i]!.m },
        { name: `moment.v.${i}`, dtype: 'F32' as const, shape: v.shape, data: tensors.moments[i]!.v }
      ])
    )
    await writeJsonAtomically(join(temp, 'state.json'), state)
    await rm(join(root, name), { recursive: true, force: true })
    await rename(temp, join(root, name))
  } catch (error) {
    await rm(temp, { recursive: true, force: true })
    throw error
  }
  await writeJsonAtomically(join(root, 'latest.json'), { name, step: state.step })
  if (state.best?.step === state.step) await writeJsonAtomically(join(root, 'best.json'), { name, step: state.step, metrics: state.best.metrics })
  await prune(root, keep)
  return name
}

/** Keep the newest `keep` checkpoints and the best one; remove the rest and any temporary leftovers. */
async function prune(root: string, keep: number): Promise<void> {
  const entries = await readdir(root)
  const steps = entries.filter((e) => /^step-\d+$/.test(e)).sort()
  let best: string | undefined
  try {
    best = (JSON.parse(await readFile(join(root, 'best.json'), 'utf8')) as { name: string }).name
  } catch {
    best = undefined
  }
  for (const old of steps.slice(0, Math.max(0, steps.length - keep))) if (old !== best) await rm(join(root, old), { recursive: true, force: true })
  for (const leftover of entries.filter((e) => e.endsWith('.tmp'))) await rm(join(root, leftover), { recursive: true, force: true })
}

/** The name latest.json points at, if any (for messages). */
export async function latestCheckpointName(dir: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(dir, 'checkpoints', 'latest.json'), 'utf8')) as { name: string }).name
  } catch {
    return undefined
  }
}

/** The checkpoints a run folder holds, by step, oldest first. */
export async function listCheckpoints(dir: string): Promise<{ name: string; step: number }[]> {
  let entries: string[]
  try {
    entries = await readdir(join(dir, 'checkpoints'))
  } catch {
    return []
  }
  return entries.filter((e) => /^step-\d+$/.test(e)).sort().map((name) => ({ name, step: Number(name.slice(5)) }))
}

/** A checkpoint: the newest, the best so far, or the one written at a given step. Undefined when there is none. */
export async function readCheckpoint(dir: string, which: 'latest' | 'best' | number = 'latest'): Promise<{ name: string; state: CheckpointState; tensors: CheckpointTensors } | undefined> {
  const root = join(dir, 'checkpoints')
  let name: string
  try {
    name = typeof which === 'number' ? checkpointName(which) : (JSON.parse(await readFile(join(root, `${which}.json`), 'utf8')) as { name: string }).name
    await stat(join(root, name, 'state.json'))
  } catch {
    return undefined
  }
  const state = JSON.parse(await readFile(join(root, name, 'state.json'), 'utf8')) as CheckpointState
  const file = await openSafetensors(join(root, name, 'trainable.safetensors'))
  try {
    const count = file.tensors.filter((t) => t.name.startsWith('variable.')).length
    const variables: CheckpointTensors['variables'] = []
    const moments: CheckpointTensors['moments'] = []
    for (let i = 0; i < count; i++) {
      const info = file.tensors.find((t) => t.name === `variable.${i}`)!
      variables.push({ shape: [...info.shape], values: Float32Array.from(await file.readFloat64(`variable.${i}`)) })
      moments.push({ m: Float32Array.from(await file.readFloat64(`moment.m.${i}`)), v: Float32Array.from(await file.readFloat64(`moment.v.${i}`)) })
    }
    return { name, state, tensors: { variables, moments } }
  } finally {
    await file.close()
  }
}
