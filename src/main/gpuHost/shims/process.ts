import { hostFacts } from '../remote'

/**
 * The `process` global for the GPU host: the host's pid and platform (the run's lock and temp names are
 * the host process's, which owns this window), an empty environment, and a kill(pid, 0) that knows only
 * the host: any other pid counts as alive (EPERM), so a lock held by someone else is never taken over
 * from here.
 */
export function makeProcess(): Record<string, unknown> {
  const facts = hostFacts()
  return {
    pid: facts.pid,
    platform: facts.platform,
    arch: facts.arch,
    env: {},
    versions: {},
    kill(pid: number, signal: number | string) {
      if (signal !== 0) throw new Error('process.kill is not available in the GPU host')
      if (pid === facts.pid) return true
      throw Object.assign(new Error(`kill ${pid}: cannot tell from the GPU host`), { code: 'EPERM' })
    },
    cwd: () => '/',
    nextTick: (fn: (...args: unknown[]) => void, ...args: unknown[]) => queueMicrotask(() => fn(...args))
  }
}
