// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { frameScheduler } from '@renderer/lib/frame'

const nextFrame = (): Promise<void> => new Promise((resolve) => requestAnimationFrame(() => resolve()))

describe('the frame scheduler', () => {
  it('runs many scheduled updates once, at the next animation frame', async () => {
    let runs = 0
    const scheduler = frameScheduler(() => runs++)
    for (let i = 0; i < 500; i++) scheduler.schedule()
    expect(runs).toBe(0)
    await nextFrame()
    await nextFrame()
    expect(runs).toBe(1)
    scheduler.schedule()
    await nextFrame()
    await nextFrame()
    expect(runs).toBe(2)
  })

  it('flushes a pending update at once, and does nothing when none is pending', async () => {
    let runs = 0
    const scheduler = frameScheduler(() => runs++)
    scheduler.flush()
    expect(runs).toBe(0)
    scheduler.schedule()
    scheduler.flush()
    expect(runs).toBe(1)
    await nextFrame()
    await nextFrame()
    expect(runs).toBe(1)
    scheduler.schedule()
    scheduler.cancel()
    await nextFrame()
    await nextFrame()
    expect(runs).toBe(1)
  })
})
