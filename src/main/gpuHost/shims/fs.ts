import { exists, hostFacts } from '../remote'
import * as promises from './fsPromises'

/**
 * node:fs for the GPU host. A worker cannot wait for the host, so the two synchronous calls the training
 * path makes are answered locally: existsSync from the listing of the run's writable folders (kept up to
 * date by this host's own writes), and readFileSync of the host's /proc/PID/stat (the lock's process start
 * time) from the facts sent at start. Any other synchronous read is refused with its path.
 */
export const constants: Record<string, number> = new Proxy({} as Record<string, number>, {
  get: (_target, name) => (typeof name === 'string' ? hostFacts().constants[name] : undefined)
})

export function existsSync(path: string): boolean {
  return exists(path)
}

export function readFileSync(path: string, encoding?: string): string {
  const facts = hostFacts()
  if (path === `/proc/${facts.pid}/stat` && facts.procStat !== undefined && encoding) return facts.procStat
  throw Object.assign(new Error(`${path}: synchronous reads are not available in the GPU host`), { code: 'ENOENT' })
}

export { promises }
export default { constants, existsSync, readFileSync, promises }
