import { availableParallelism, loadavg } from 'node:os'

/**
 * "load average 1.9 on 2 cores": printed at the start and end of a bench, because on a shared VM other
 * work running beside it (above one per core) slows both sides of a ratio, multi-threaded BLAS most.
 */
export function loadNote(): string {
  return `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`
}
