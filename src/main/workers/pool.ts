import type { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { spawnWorker } from './spawn'
import type { TaskMessage, WorkerMessage } from './protocol'

/** Thrown for a task cancelled through its AbortSignal, queued or running. */
export class TaskCancelledError extends Error {
  override name = 'TaskCancelledError'
  constructor(what: string) {
    super(`${what} was cancelled`)
  }
}

/** Thrown when a worker dies (crash, out of memory) while it runs a task. */
export class WorkerCrashedError extends Error {
  override name = 'WorkerCrashedError'
}

export interface RunOptions<P> {
  transfer?: ArrayBuffer[]
  signal?: AbortSignal
  onProgress?: (progress: P) => void
  /** Names the task in error messages. */
  label?: string
}

interface Pending<T, R, P> {
  id: number
  payload: T
  options: RunOptions<P>
  resolve: (value: R) => void
  reject: (error: Error) => void
  onAbort?: () => void
}

interface Slot<T, R, P> {
  worker: Worker
  task?: Pending<T, R, P>
}

/**
 * A fixed pool of worker threads, one task per worker at a time, FIFO queue in front. A cancelled
 * running task costs its worker (terminated and replaced): a long SVD cannot be interrupted any other
 * way, and the replacement is cheap next to it.
 */
export class WorkerPool<T, R, P = unknown> {
  readonly size: number
  private readonly slots: Slot<T, R, P>[] = []
  private readonly queue: Pending<T, R, P>[] = []
  private nextId = 1
  private closed = false

  constructor(
    private readonly entry: URL,
    size = availableParallelism()
  ) {
    this.size = Math.max(1, Math.floor(size))
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn())
  }

  run(payload: T, options: RunOptions<P> = {}): Promise<R> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'))
    return new Promise<R>((resolve, reject) => {
      const task: Pending<T, R, P> = { id: this.nextId++, payload, options, resolve, reject }
      const { signal } = options
      if (signal?.aborted) return reject(new TaskCancelledError(options.label ?? 'task'))
      if (signal) {
        task.onAbort = () => this.cancel(task)
        signal.addEventListener('abort', task.onAbort, { once: true })
      }
      this.queue.push(task)
      this.dispatch()
    })
  }

  /** Tasks waiting plus tasks running. */
  get pending(): number {
    return this.queue.length + this.slots.filter((s) => s.task).length
  }

  async close(): Promise<void> {
    this.closed = true
    for (const task of this.queue.splice(0)) this.settle(task, new Error('the worker pool was closed'))
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.task) this.settle(slot.task, new Error('the worker pool was closed'))
        slot.task = undefined
        await slot.worker.terminate()
      })
    )
  }

  private spawn(): Slot<T, R, P> {
    const worker = spawnWorker(this.entry)
    const slot: Slot<T, R, P> = { worker }
    worker.on('message', (message: WorkerMessage<R, P>) => this.onMessage(slot, message))
    worker.on('error', (error) => this.onDeath(slot, error.message))
    worker.on('exit', (code) => this.onDeath(slot, `exited with code ${code}`))
    worker.unref()
    return slot
  }

  private onMessage(slot: Slot<T, R, P>, message: WorkerMessage<R, P>): void {
    const task = slot.task
    if (!task || task.id !== message.id) return
    if (message.type === 'progress') {
      task.options.onProgress?.(message.payload)
      return
    }
    slot.task = undefined
    if (message.type === 'result') this.settle(task, undefined, message.payload)
    else {
      const error = new Error(message.message)
      error.name = message.name
      this.settle(task, error)
    }
    this.dispatch()
  }

  private onDeath(slot: Slot<T, R, P>, why: string): void {
    const index = this.slots.indexOf(slot)
    if (index < 0) return // already replaced (terminated on purpose)
    const task = slot.task
    slot.task = undefined
    this.slots.splice(index, 1)
    if (task) this.settle(task, new WorkerCrashedError(`the worker running ${task.options.label ?? 'a task'} died: ${why}`))
    if (!this.closed) {
      this.slots.push(this.spawn())
      this.dispatch()
    }
  }

  private cancel(task: Pending<T, R, P>): void {
    const queued = this.queue.indexOf(task)
    if (queued >= 0) {
      this.queue.splice(queued, 1)
      this.settle(task, new TaskCancelledError(task.options.label ?? 'task'))
      return
    }
    const slot = this.slots.find((s) => s.task === task)
    if (!slot) return
    slot.task = undefined
    this.slots.splice(this.slots.indexOf(slot), 1)
    void slot.worker.terminate()
    this.settle(task, new TaskCancelledError(task.options.label ?? 'task'))
    if (!this.closed) {
      this.slots.push(this.spawn())
      this.dispatch()
    }
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.task) continue
      const task = this.queue.shift()
      if (!task) return
      slot.task = task
      const message: TaskMessage<T> = { type: 'task', id: task.id, payload: task.payload }
      slot.worker.ref()
      slot.worker.postMessage(message, task.options.transfer ?? [])
    }
    // Idle workers must not keep a CLI process alive.
    for (const slot of this.slots) if (!slot.task) slot.worker.unref()
  }

  private settle(task: Pending<T, R, P>, error?: Error, value?: R): void {
    if (task.onAbort) task.options.signal?.removeEventListener('abort', task.onAbort)
    if (error) task.reject(error)
    else task.resolve(value as R)
  }
}
