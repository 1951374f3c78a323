import { realpath } from 'node:fs/promises'
import { isAbsolute, join, resolve } from 'node:path'
import type { CallResults, Params } from '../../shared/api'
import { ExportRefusal, uiWording, type ExportProgressSummary } from '../../shared/exportOptions'
import { exportRun, runExportOptions } from '../engine/export'
import { isInside } from '../engine/export/outputGuard'
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

/** What one back end remembers of its exports: how far each running one has got, and the folders they wrote. */
interface ExportState {
  progress: Map<string, ExportProgressSummary>
  /** Output folders exports wrote since this back end started, links resolved: revealPath may show them. */
  written: Set<string>
}

// Keyed by the back end's run supervisor: one state per back end, gone with it.
const states = new WeakMap<RunSupervisor, ExportState>()

function stateOf(context: Pick<ExportContext, 'supervisor'>): ExportState {
  let state = states.get(context.supervisor)
  if (!state) {
    state = { progress: new Map(), written: new Set() }
    states.set(context.supervisor, state)
  }
  return state
}

/**
 * The Export step: a run's merged checkpoint, adapters and report, with the SVDs on the pool (cached). Never
 * while it trains. Refusals are worded with the Export step's controls (uiWording), not the CLI's flags.
 */
export async function exportRunOutputs(context: ExportContext, p: Params<'exportRun'>): Promise<CallResults['exportRun']> {
  if (context.supervisor.isTraining(p.runId)) throw new RequestError(`${p.runId}: is still training; export it when it has finished or been cancelled`)
  const state = stateOf(context)
  const runDir = join(context.runsDir, p.runId)
  const decompose = cachedDecompose(context.pool.runSvd, { cacheDir: context.svdCacheDir })
  const kinds = Object.keys(p.outputs)
  const since = new Date().toISOString()
  // Two exports of one run at once (to different folders) report as one: the latest to start.
  let latest: ExportProgressSummary = { stage: 'restore', since, outputs: kinds.length }
  state.progress.set(p.runId, latest)
  try {
    const result = await exportRun(
      { runDir, outputs: p.outputs, ...(p.checkpoint !== undefined && { checkpoint: p.checkpoint }), ...(p.compact !== undefined && { compact: p.compact }), ...(p.force !== undefined && { force: p.force }), ...(p.uniformRank !== undefined && { uniformRank: p.uniformRank }) },
      {
        decompose,
        onProgress: (progress) => {
          const output = progress.kind === 'restore' ? undefined : kinds.indexOf(progress.kind) + 1
          if (state.progress.get(p.runId) !== latest) return
          latest = { stage: progress.kind, done: progress.done, total: progress.total, ...(progress.detail !== undefined && { detail: progress.detail }), ...(output && { output }), outputs: kinds.length, since }
          state.progress.set(p.runId, latest)
        }
      }
    )
    for (const output of result.outputs) state.written.add(await realpath(output.dir).catch(() => resolve(output.dir)))
    return result
  } catch (error) {
    if (error instanceof ExportRefusal) throw new RequestError(error.worded(uiWording), { cause: error })
    throw error
  } finally {
    if (state.progress.get(p.runId) === latest) state.progress.delete(p.runId)
  }
}

/** Which outputs the run can be exported to and why not, its checkpoints and labels, in the Export step's words. */
export async function exportOptionsOf(context: Pick<ExportContext, 'runsDir'>, p: Params<'exportOptions'>): Promise<CallResults['exportOptions']> {
  return runExportOptions(join(context.runsDir, p.runId), p.runId, uiWording)
}

/** How far the run's export has got; `{}` when none is running. */
export function exportProgressOf(context: Pick<ExportContext, 'supervisor'>, p: Params<'exportProgress'>): CallResults['exportProgress'] {
  return stateOf(context).progress.get(p.runId) ?? {}
}

/**
 * Show `p.path` in the host's file manager, only when it is (or lies inside) a folder an export of this back
 * end wrote, or lies inside the runs folder; links are resolved first, so a link cannot lead elsewhere.
 * Without a host that can (a browser under `siva serve`), it is refused.
 */
export async function revealExportedPath(context: Pick<ExportContext, 'runsDir' | 'supervisor'> & { reveal?: (path: string) => void | Promise<void> }, p: Params<'revealPath'>): Promise<CallResults['revealPath']> {
  if (!context.reveal) throw new RequestError('revealPath: there is no file manager to show a folder in from a browser; copy the path instead')
  if (!isAbsolute(p.path)) throw new RequestError(`revealPath: ${JSON.stringify(p.path)} is not an absolute path`)
  let real: string
  try {
    real = await realpath(p.path)
  } catch {
    throw new RequestError(`revealPath: ${p.path} does not exist (or cannot be read)`)
  }
  const runsDir = await realpath(context.runsDir).catch(() => resolve(context.runsDir))
  const allowed = isInside(runsDir, real) || [...stateOf(context).written].some((dir) => dir === real || isInside(dir, real))
  if (!allowed) throw new RequestError(`revealPath: ${p.path} is neither an export's folder nor in the runs folder; only those are shown`)
  await context.reveal(real)
  return { revealed: real }
}
