/**
 * When each optimiser step happened, from the run's [step, ms] pairs (RunTrace.stepTimes), so that any
 * series by step can be drawn against wall-clock time. A step between two known ones (an evaluation at a
 * step the log timed only around) is placed by linear interpolation; one outside them has no time.
 */
export interface StepClock {
  /** Milliseconds since the epoch of `step`, or undefined when the run's log does not place it. */
  at(step: number): number | undefined
  /** The first time known: the run's start as its charts see it. */
  readonly origin: number | undefined
}

export function stepClock(stepTimes: readonly (readonly [number, number])[]): StepClock {
  const known = stepTimes.filter(([step, ms]) => Number.isFinite(step) && Number.isFinite(ms)).slice()
  known.sort((a, b) => a[0] - b[0])
  const exact = new Map(known.map(([step, ms]) => [step, ms]))
  return {
    origin: known.length > 0 ? Math.min(...known.map(([, ms]) => ms)) : undefined,
    at(step) {
      const hit = exact.get(step)
      if (hit !== undefined) return hit
      // The first known step after `step`, by bisection: the list is sorted by step.
      let lo = 0
      let hi = known.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (known[mid]![0] < step) lo = mid + 1
        else hi = mid
      }
      const after = known[lo]
      const before = known[lo - 1]
      if (!after || !before) return undefined
      return before[1] + ((step - before[0]) / (after[0] - before[0])) * (after[1] - before[1])
    }
  }
}

/** [time, value, step] for a time axis; points the clock cannot place are left out. */
export function onClock(points: readonly (readonly [number, number])[], clock: StepClock): [number, number, number][] {
  const out: [number, number, number][] = []
  for (const [step, value] of points) {
    const ms = clock.at(step)
    if (ms !== undefined) out.push([ms, value, step])
  }
  return out
}
