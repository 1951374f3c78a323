import type { TrainEvent } from '../../shared/training'

/**
 * The line `siva train` prints when training starts: the backend, its threads, and — whenever the GPU is
 * not the one training — why not (tfjs-node-gpu's skip reason, or the --backend that was asked for), so a
 * run that quietly lands on the CPU says so up front.
 */
export function backendNotice(event: Extract<TrainEvent, { type: 'started' }>): string {
  const { backend, config, resumedFrom } = event
  let line = `siva train: backend ${backend.name}${backend.threads && backend.threads > 1 ? ` (${backend.threads} threads)` : ''}${resumedFrom !== undefined ? `, resuming from step ${resumedFrom}` : ''}`
  if (backend.name === 'tensorflow-gpu') return line
  const gpu = backend.skipped.find((skip) => skip.name === 'tensorflow-gpu')
  if (gpu) line += `; GPU not used: ${gpu.reason}`
  else if (config.backend !== undefined && config.backend !== 'auto') line += `; GPU not used: --backend ${config.backend} was asked for`
  return line
}
