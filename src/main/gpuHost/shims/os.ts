import { hostFacts } from '../remote'

/** node:os for the GPU host: the host's name (the run's lock names its owner by host and pid). */
export function hostname(): string {
  return hostFacts().hostname
}
export function homedir(): string {
  throw new Error('homedir() is not available in the GPU host')
}
export function tmpdir(): string {
  throw new Error('tmpdir() is not available in the GPU host')
}
export function cpus(): unknown[] {
  return Array.from({ length: (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency || 1 }, () => ({}))
}
export default { hostname, homedir, tmpdir, cpus }
