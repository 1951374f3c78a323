import type { TrainEvent } from '../../shared/training'
import { adapterName } from '../engine/backend/webgpu'

/**
 * The line `siva train` prints when training starts: the backend, its threads or its GPU adapter, and —
 * whenever no GPU is training — why not (the GPU backends' skip reasons, or the --backend that was asked
 * for), so a run that quietly lands on the CPU says so up front.
 */
export function backendNotice(event: Extract<TrainEvent, { type: 'started' }>): string {
  const { backend, config, resumedFrom } = event
  const where = backend.adapter ? ` on ${adapterName(backend.adapter)}${backend.adapter.fallback ? ', a software adapter: slow, for testing' : ''}` : ''
  let line = `siva train: backend ${backend.name}${where}${backend.threads && backend.threads > 1 ? ` (${backend.threads} threads)` : ''}${resumedFrom !== undefined ? `, resuming from step ${resumedFrom}` : ''}`
  if (backend.name === 'tensorflow-gpu' || backend.name === 'webgpu') return line
  const gpuSkips = backend.skipped.filter((skip) => skip.name === 'tensorflow-gpu' || skip.name === 'webgpu')
  if (gpuSkips.length > 0) line += `; GPU not used: ${gpuSkips.map((skip) => `${skip.name}: ${skip.reason}`).join('; ')}`
  else if (config.backend !== undefined && config.backend !== 'auto') line += `; GPU not used: --backend ${config.backend} was asked for`
  return line
}
