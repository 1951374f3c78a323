import { dirname, join } from 'node:path'
import type { z } from 'zod'
import { methods, type AppInfo, type CallName, type CallResults, type MethodName, type Params } from '../../shared/api'
import { probeBackend } from '../engine/backend'
import type { WebGpuProbe } from '../engine/backend/probe'
import { AnalysisPool } from '../workers/analysisPool'
import { probeWebGpuInWorker } from '../workers/webgpuProbe'
import { appInfo } from './appInfo'
import { checkData } from './dataCheck'
import { exportOptionsOf, exportProgressOf, exportRunOutputs, revealExportedPath } from './exports'
import { streamGeneratePreview } from './generate'
import { HubDownloads } from './hubDownloads'
import { cachedModels } from './hubModels'
import { analyseLayers, describeModel } from './models'
import { RecentModels } from './recentModels'
import { RequestError } from './requestError'
import { streamRunEvents } from './runEvents'
import { RunSupervisor, type RunSupervisorOptions, type StopReport } from './runSupervisor'
import { readRunConfig, WizardStateStore } from './wizardState'

export { RequestError }

/**
 * Everything the UI can ask for, whichever transport carries it (Electron IPC, `siva serve`'s WebSocket).
 * Every request is checked against its schema in src/shared/api.ts before anything runs, then handed to
 * the service that owns it: models.ts, dataCheck.ts, runSupervisor.ts, runEvents.ts, exports.ts,
 * recentModels.ts. This file only dispatches; it owns the SVD pool the others share.
 */
export interface BackendOptions {
  runsDir: string
  svdCacheDir: string
  demo?: AppInfo['demo']
  /** The host's native open dialog (the desktop app); without it, pickPath says to type the path. */
  pickPath?: (kind: 'folder' | 'file', title?: string) => Promise<string | undefined>
  /** The host's file manager (the desktop app): show a path in its folder; without it, revealPath is refused and the UI hides it. */
  revealPath?: (path: string) => void | Promise<void>
  /** The desktop app: what closing its window does (AppInfo.windowClose). */
  windowClose?: AppInfo['windowClose']
  /** How to ask for the WebGPU adapter: a worker thread with Dawn (default), or the desktop app's GPU window. */
  probeWebGpu?: () => Promise<WebGpuProbe>
  /** Where runs train (RunSupervisorOptions.sessionFactory): the desktop app sends its WebGPU runs to the GPU window. */
  sessionFactory?: RunSupervisorOptions['sessionFactory']
}

export class SivaBackend {
  private readonly pool = new AnalysisPool()
  private readonly runs: RunSupervisor
  /** Kept beside the runs folder. */
  private readonly recent: RecentModels
  /** The wizard as the page left it (wizardState.ts), beside the runs folder too. */
  private readonly wizard: WizardStateStore
  /** The Model step's downloads from the Hub into the Hugging Face cache. */
  private readonly downloads = new HubDownloads()

  constructor(private readonly options: BackendOptions) {
    this.runs = new RunSupervisor({ runsDir: options.runsDir, svdCacheDir: options.svdCacheDir, ...(options.sessionFactory && { sessionFactory: options.sessionFactory }) })
    this.recent = new RecentModels(join(dirname(options.runsDir), 'recent-models.json'))
    this.wizard = new WizardStateStore(join(dirname(options.runsDir), 'wizard-state.json'))
  }

  /** Validate and run one call. Unknown methods and bad params are refused with a message naming the field. */
  async call(method: string, params: unknown): Promise<unknown> {
    const parsed = this.parse(method, params, 'call') as Params<CallName>
    const handlers: { [M in CallName]: (p: Params<M>) => Promise<CallResults[M]> } = {
      appInfo: async () => ({ ...appInfo(), backend: await probeBackend(this.options.probeWebGpu ?? probeWebGpuInWorker), runsDir: this.options.runsDir, canPickPaths: this.options.pickPath !== undefined, canRevealPaths: this.options.revealPath !== undefined, ...(this.options.windowClose && { windowClose: this.options.windowClose }), ...(this.options.demo && { demo: this.options.demo }) }),
      openModel: async (p) => {
        const summary = await describeModel(p.path)
        await this.recent.remember(summary).catch(() => undefined)
        return summary
      },
      recentModels: () => this.recent.list(),
      cachedModels: () => cachedModels(),
      downloadModel: async (p) => this.downloads.start(p.model),
      downloads: async () => this.downloads.list(),
      cancelDownload: (p) => this.downloads.cancel(p.model),
      wizardState: () => this.wizard.read(),
      saveWizardState: (p) => this.wizard.save(p.state),
      runConfig: (p) => readRunConfig(this.options.runsDir, p.runId, this.runs.live(p.runId)?.config),
      pickPath: async (p) => {
        if (!this.options.pickPath) throw new RequestError('pickPath: there is no file dialog in a browser; type or paste the path instead')
        const path = await this.options.pickPath(p.kind, p.title)
        return path === undefined ? {} : { path }
      },
      checkData: (p) => checkData(p),
      listRuns: () => this.runs.list(),
      startRun: (p) => this.runs.start(p.config, p.name),
      pauseRun: (p) => this.runs.control(p.runId, 'pause'),
      resumeRun: (p) => this.runs.control(p.runId, 'resume'),
      cancelRun: (p) => this.runs.control(p.runId, 'cancel'),
      continueRun: (p) => this.runs.continue(p.runId),
      deleteRun: (p) => this.runs.delete(p.runId),
      updateRun: ({ runId, ...change }) => this.runs.update(runId, change),
      exportRun: (p) => exportRunOutputs({ runsDir: this.options.runsDir, svdCacheDir: this.options.svdCacheDir, pool: this.pool, supervisor: this.runs }, p),
      exportOptions: (p) => exportOptionsOf({ runsDir: this.options.runsDir }, p),
      exportProgress: async (p) => exportProgressOf({ supervisor: this.runs }, p),
      revealPath: (p) => revealExportedPath({ runsDir: this.options.runsDir, supervisor: this.runs, ...(this.options.revealPath && { reveal: this.options.revealPath }) }, p)
    }
    return (handlers[method as CallName] as (p: unknown) => Promise<unknown>)(parsed)
  }

  /** Validate and run one stream until it ends or `signal` aborts (the caller closed it). */
  async stream(method: string, params: unknown, emit: (event: unknown) => void, signal: AbortSignal): Promise<void> {
    const parsed = this.parse(method, params, 'stream')
    if (method === 'analyseLayers') return analyseLayers(this.pool, parsed as Params<'analyseLayers'>, emit, signal)
    if (method === 'generatePreview') return streamGeneratePreview({ runsDir: this.options.runsDir, svdCacheDir: this.options.svdCacheDir, pool: this.pool, supervisor: this.runs }, parsed as Params<'generatePreview'>, emit, signal)
    return streamRunEvents(this.runs, this.options.runsDir, parsed as Params<'runEvents'>, emit, signal)
  }

  /**
   * Before the host quits: stop every run in training with a checkpoint, waiting at most `timeoutMs`
   * (then terminate the rest, which keep their last checkpoint). The runs show as cancelled, and continue.
   */
  stopRuns(timeoutMs: number): Promise<StopReport> {
    return this.runs.stopAll(timeoutMs)
  }

  async close(): Promise<void> {
    await this.downloads.close()
    await this.runs.close()
    await this.pool.close()
  }

  private parse(method: string, params: unknown, kind: 'call' | 'stream'): unknown {
    const spec = (methods as Record<string, { kind: string; params: z.ZodType }>)[method]
    if (!spec || !Object.hasOwn(methods, method)) throw new RequestError(`unknown method ${JSON.stringify(method)}`)
    if (spec.kind !== kind) throw new RequestError(`${method} is a ${spec.kind}, not a ${kind}`)
    const result = spec.params.safeParse(params ?? {})
    if (!result.success) {
      const issue = result.error.issues[0]!
      throw new RequestError(`${method}: ${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`)
    }
    return result.data
  }
}

export type { MethodName }
