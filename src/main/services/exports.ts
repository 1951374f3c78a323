import { join } from 'node:path'
import type { CallResults, Params } from '../../shared/api'
import { exportRun } from '../engine/export'
import { cachedDecompose } from '../engine/peft'
import type { AnalysisPool } from '../workers/analysisPool'
import { RequestError } from './requestError'
import type { RunSupervisor } from './runSupervisor'

export interface ExportContext {
  runsDir: string
  svdCacheDir: string
  pool: AnalysisPool
  supervisor: RunSupervisor
}

/** The Export step: a run's merged checkpoint, adapters and report, with the SVDs on the pool (cached). Never while it trains. */
export async function exportRunOutputs(context: ExportContext, p: Params<'exportRun'>): Promise<CallResults['exportRun']> {
  if (context.supervisor.isTraining(p.runId)) throw new RequestError(`${p.runId}: is still training; export it when it has finished or been cancelled`)
  const runDir = join(context.runsDir, p.runId)
  const decompose = cachedDecompose(context.pool.runSvd, { cacheDir: context.svdCacheDir })
  return exportRun({ runDir, outputs: p.outputs, ...(p.checkpoint !== undefined && { checkpoint: p.checkpoint }), ...(p.compact !== undefined && { compact: p.compact }), ...(p.force !== undefined && { force: p.force }) }, { decompose })
}
