/**
 * Whether a process with this id still runs on this machine (one we may not signal counts: it exists).
 * Temp folders and locks carry their writer's pid, so that a later process can tell a leftover of a dead
 * one (export staging, a run folder being built, a run's lock) from the work of a live one.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
