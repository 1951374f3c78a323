import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { open, readFile, rm } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { processAlive } from '../io/processes'

/**
 * One trainer per run folder. The trainer holds `lock.json` (created exclusively, so two trainers that
 * start together cannot both win) for as long as it writes the folder; a second one is refused at once.
 * A lock whose process is gone — or whose pid now belongs to another process, told apart by the process's
 * start time where the system gives it — is stale and taken over.
 */

export const lockFileName = 'lock.json'

export interface RunLockOwner {
  pid: number
  host: string
  /** When the process started, in the system's own units (Linux: clock ticks since boot); absent elsewhere. */
  processStart?: string
  /** Tells apart two trainers of one process (worker threads): the one that released must hold this token. */
  token: string
  since: string
}

export class RunLockedError extends Error {
  constructor(
    readonly runDir: string,
    readonly owner: RunLockOwner
  ) {
    const elsewhere = owner.host !== hostname()
    super(
      `${runDir}: another trainer is using this run (process ${owner.pid} on ${owner.host}, since ${owner.since}); wait for it to end or stop it, then resume${elsewhere ? `; it runs on another machine, so this one cannot tell whether it still does: if it is gone, remove ${join(runDir, lockFileName)}` : ''}`
    )
    this.name = 'RunLockedError'
  }
}

export interface RunLock {
  readonly token: string
  release(): Promise<void>
}

/** This process as a lock owner. */
export function lockOwner(token = randomBytes(8).toString('hex')): RunLockOwner {
  const start = processStartTime(process.pid)
  return { pid: process.pid, host: hostname(), ...(start !== undefined && { processStart: start }), token, since: new Date().toISOString() }
}

/** The lock file's content, for a folder being built before its rename (the lock is in place as it appears). */
export function lockFileText(owner: RunLockOwner): string {
  return `${JSON.stringify(owner)}\n`
}

/** Take the run folder's lock, taking over a stale one; throws RunLockedError when a live trainer holds it. */
export async function acquireRunLock(runDir: string, token?: string): Promise<RunLock> {
  const owner = lockOwner(token)
  const file = join(runDir, lockFileName)
  // Two tries: the second after removing a stale lock (another trainer may take it in between: then it wins).
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx')
      try {
        await handle.writeFile(lockFileText(owner))
        await handle.sync()
      } finally {
        await handle.close()
      }
      return heldLock(runDir, owner.token)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`${file}: cannot lock the run: ${(error as Error).message}`, { cause: error })
    }
    const holder = await readOwner(file)
    if (holder && ownerAlive(holder)) throw new RunLockedError(runDir, holder)
    await rm(file, { force: true })
  }
  const holder = await readOwner(file)
  throw holder ? new RunLockedError(runDir, holder) : new Error(`${file}: cannot lock the run: another trainer keeps taking the lock`)
}

/** A lock this process already holds (a folder created with its lock file inside). */
export function heldLock(runDir: string, token: string): RunLock {
  return { token, release: () => releaseRunLock(runDir, token) }
}

/** Remove the lock if it is still the one `token` took (never another trainer's). */
export async function releaseRunLock(runDir: string, token: string): Promise<void> {
  const file = join(runDir, lockFileName)
  const holder = await readOwner(file)
  if (holder?.token === token) await rm(file, { force: true })
}

/** Who holds a run's lock now, if a live process does. */
export async function runLockHolder(runDir: string): Promise<RunLockOwner | undefined> {
  const holder = await readOwner(join(runDir, lockFileName))
  return holder && ownerAlive(holder) ? holder : undefined
}

async function readOwner(file: string): Promise<RunLockOwner | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    return undefined
  }
  try {
    const parsed = JSON.parse(text) as Partial<RunLockOwner>
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.token === 'string') return parsed as RunLockOwner
  } catch {
    // A lock cut short (the holder was killed while writing it) holds no live owner.
  }
  return undefined
}

/**
 * Whether the lock's process still runs. On another host we cannot tell: it counts as alive, so a run on a
 * shared disk is never trained from two machines (its owner's message says which host to check).
 */
function ownerAlive(owner: RunLockOwner): boolean {
  if (owner.host !== hostname()) return true
  if (!processAlive(owner.pid)) return false
  // Same pid, another process (the id was reused after the trainer died): stale.
  const start = processStartTime(owner.pid)
  return owner.processStart === undefined || start === undefined || start === owner.processStart
}

/** Linux: field 22 of /proc/PID/stat (start time in clock ticks since boot), after the parenthesised name. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Fields after the name start at field 3 (state); starttime is field 22.
    return fields[22 - 3]
  } catch {
    return undefined
  }
}
