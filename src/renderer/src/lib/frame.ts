/**
 * Coalesces many calls into one per animation frame: a run can emit hundreds of events a second while
 * the screen only needs them once per frame. `flush()` runs a pending update at once (tests, teardown).
 */
export function frameScheduler(update: () => void): { schedule: () => void; flush: () => void; cancel: () => void } {
  let pending: number | undefined
  const raf: (cb: () => void) => number = typeof requestAnimationFrame === 'function' ? requestAnimationFrame : (cb) => setTimeout(cb, 16) as unknown as number
  const caf: (id: number) => void = typeof cancelAnimationFrame === 'function' ? cancelAnimationFrame : (id) => clearTimeout(id)
  const run = (): void => {
    pending = undefined
    update()
  }
  return {
    schedule() {
      if (pending === undefined) pending = raf(run)
    },
    flush() {
      if (pending === undefined) return
      caf(pending)
      run()
    },
    cancel() {
      if (pending !== undefined) caf(pending)
      pending = undefined
    }
  }
}
