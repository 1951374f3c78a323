import { afterEach, describe, expect, it } from 'vitest'
import { TaskCancelledError, WorkerCrashedError, WorkerPool } from '../../../src/main/workers/pool'
import type { TestTask } from '../../fixtures/workers/testWorker'

const entry = new URL('../../fixtures/workers/testWorker.ts', import.meta.url)
type Result = { value: number; threadId: number }
let pool: WorkerPool<TestTask, Result, number> | undefined

afterEach(async () => {
  await pool?.close()
  pool = undefined
})

describe('WorkerPool (real worker threads)', () => {
  it('runs tasks on distinct threads, as many as its size', async () => {
    pool = new WorkerPool<TestTask, Result, number>(entry, 2)
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((value) => pool!.run({ kind: 'echo', value })))
    expect(results.map((r) => r.value)).toEqual([1, 2, 3, 4, 5, 6])
    expect(new Set(results.map((r) => r.threadId)).size).toBe(2)
  })

  it('streams progress messages before the result', async () => {
    pool = new WorkerPool<TestTask, Result, number>(entry, 1)
    const seen: number[] = []
    const result = await pool.run({ kind: 'progress', value: 7 }, { onProgress: (p) => seen.push(p) })
    expect(seen).toEqual([1, 2, 3])
    expect(result.value).toBe(7)
  })

  it('cancels a running task by replacing its worker, and keeps serving', async () => {
    pool = new WorkerPool<TestTask, Result, number>(entry, 1)
    const controller = new AbortController()
    const running = pool.run({ kind: 'spin', ms: 60_000 }, { signal: controller.signal, label: 'the spin task' })
    const queued = pool.run({ kind: 'echo', value: 42 })
    await new Promise((r) => setTimeout(r, 300))
    const started = Date.now()
    controller.abort()
    await expect(running).rejects.toThrow(TaskCancelledError)
    await expect(running).rejects.toThrow('the spin task was cancelled')
    expect((await queued).value).toBe(42)
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('cancels a queued task without running it', async () => {
    pool = new WorkerPool<TestTask, Result, number>(entry, 1)
    const controller = new AbortController()
    const first = pool.run({ kind: 'spin', ms: 300, value: 1 })
    const second = pool.run({ kind: 'echo', value: 2 }, { signal: controller.signal })
    controller.abort()
    await expect(second).rejects.toThrow(TaskCancelledError)
    expect((await first).value).toBe(1)
    expect(pool.pending).toBe(0)
  })

  it('rejects an already-aborted signal at once', async () => {
    pool = new WorkerPool<TestTask, Result, number>(entry, 1)
    await expect(pool.run({ kind: 'echo', value: 1 }, { signal: AbortSignal.abort() })).rejects.toThrow(TaskCancelledError)
  })

  it('survives a worker crash with a clear error, then runs the next task', async () => {
    pool = new WorkerPool<TestTask, Result, number>(entry, 1)
    await expect(pool.run({ kind: 'crash' }, { label: 'the crash task' })).rejects.toThrow(WorkerCrashedError)
    await expect(pool.run({ kind: 'crash' }, { label: 'the crash task' })).rejects.toThrow(/the worker running the crash task died: exited with code 3/)
    expect((await pool.run({ kind: 'echo', value: 5 })).value).toBe(5)
  })

  it('passes a task error through with its name and message', async () => {
    pool = new WorkerPool<TestTask, Result, number>(entry, 1)
    const failure = pool.run({ kind: 'throw', value: 9 })
    await expect(failure).rejects.toThrow('bad value 9')
    await expect(failure).rejects.toMatchObject({ name: 'RangeError' })
  })

  it('refuses work once closed, and fails what was pending', async () => {
    pool = new WorkerPool<TestTask, Result, number>(entry, 1)
    const pending = expect(pool.run({ kind: 'spin', ms: 60_000 })).rejects.toThrow('closed')
    await pool.close()
    await pending
    await expect(pool.run({ kind: 'echo', value: 1 })).rejects.toThrow('closed')
  })
})
