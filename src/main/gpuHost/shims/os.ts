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
/** The page's memory as Chromium tells it (navigator.deviceMemory, GiB, rounded), else 0; the GPU host trains on WebGPU, whose memory limit the estimate does not use. */
export function totalmem(): number {
  return ((globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory ?? 0) * 2 ** 30
}
export default { hostname, homedir, tmpdir, cpus, totalmem }
