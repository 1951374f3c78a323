import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { acquireRunLock, lockFileName, processStartTime, releaseRunLock, RunLockedError } from '../../../src/main/engine/training/runLock'
import { tempDir } from '../../helpers/paths'

/** The pid of a process that has exited (its id is free, or at worst reused by an unrelated process). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  return Number(child.stdout)
}

const writeLock = (dir: string, owner: object): void => writeFileSync(join(dir, lockFileName), JSON.stringify(owner))

describe('the run lock', () => {
  it('refuses a second trainer at once, naming the process that holds the run', async () => {
    const dir = tempDir('lock')
    const first = await acquireRunLock(dir)
    const held = JSON.parse(readFileSync(join(dir, lockFileName), 'utf8')) as { pid: number; host: string; token: string }
    expect(held).toMatchObject({ pid: process.pid, host: hostname(), token: first.token })
    // Same process, another trainer (a second worker thread): refused too.
    const refused = await acquireRunLock(dir).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(RunLockedError)
    expect((refused as Error).message).toContain(`another trainer is using this run (process ${process.pid} on ${hostname()}`)
    await first.release()
    expect(existsSync(join(dir, lockFileName))).toBe(false)
    const second = await acquireRunLock(dir)
    await second.release()
  })

  it('takes over a lock whose process is gone', async () => {
    const dir = tempDir('lock-dead')
    const pid = deadPid()
    writeLock(dir, { pid, host: hostname(), token: 'old', since: '2026-01-01T00:00:00Z' })
    const lock = await acquireRunLock(dir)
    expect(JSON.parse(readFileSync(join(dir, lockFileName), 'utf8'))).toMatchObject({ pid: process.pid, token: lock.token })
    await lock.release()
  })

  it.skipIf(processStartTime(process.pid) === undefined)('takes over a lock whose pid now belongs to another process (start time differs)', async () => {
    const dir = tempDir('lock-reused')
    // process.pid is alive, but the lock says its process started at another time: the id was reused.
    writeLock(dir, { pid: process.pid, host: hostname(), processStart: '1', token: 'old', since: '2026-01-01T00:00:00Z' })
    const lock = await acquireRunLock(dir)
    await lock.release()
    // With the right start time the same pid is a live owner.
    writeLock(dir, { pid: process.pid, host: hostname(), processStart: processStartTime(process.pid), token: 'live', since: '2026-01-01T00:00:00Z' })
    await expect(acquireRunLock(dir)).rejects.toBeInstanceOf(RunLockedError)
  })

  it('takes over a lock file cut short, and never releases another trainer\'s lock', async () => {
    const dir = tempDir('lock-cut')
    writeFileSync(join(dir, lockFileName), '{"pid": 12')
    const lock = await acquireRunLock(dir)
    await releaseRunLock(dir, 'not-the-token')
    expect(existsSync(join(dir, lockFileName))).toBe(true)
    await lock.release()
    expect(existsSync(join(dir, lockFileName))).toBe(false)
  })

  it('a lock from another host counts as held (its process cannot be checked from here)', async () => {
    const dir = tempDir('lock-host')
    writeLock(dir, { pid: deadPid(), host: `${hostname()}-elsewhere`, token: 'far', since: '2026-01-01T00:00:00Z' })
    await expect(acquireRunLock(dir)).rejects.toThrow(`on ${hostname()}-elsewhere`)
    await expect(acquireRunLock(dir)).rejects.toThrow(`if it is gone, remove ${join(dir, lockFileName)}`)
  })
})
