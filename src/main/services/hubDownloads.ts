import type { HubDownloadSummary } from '../../shared/api'
import { hubIdProblem, parseHubId } from '../../shared/hubId'
import type { Environment } from '../engine/io/hubCache'
import { downloadHubModel, HubDownloadError, type HubDownloadProgress } from '../engine/io/hubDownload'
import { RequestError } from './requestError'

/** Downloads running at once; a few models in parallel share one connection's bandwidth anyway. */
const maxRunning = 3
/** Ended downloads remembered (the Model step shows the latest outcome of each); older ones are forgotten. */
const maxRemembered = 20

interface Job {
  summary: HubDownloadSummary
  abort: AbortController
  done: Promise<void>
}

export interface HubDownloadsOptions {
  /** HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE… as the engine reads them (default process.env). */
  env?: Environment
}

/**
 * The Model step's downloads: each runs in this process (network and disk, no heavy compute) and is polled
 * with `downloads`. One job per id and revision: a second Download of the same model returns the running
 * one. Cancel aborts its requests; the partial file stays in blobs/ and the next download resumes it.
 */
export class HubDownloads {
  private readonly jobs = new Map<string, Job>()

  constructor(private readonly options: HubDownloadsOptions = {}) {}

  start(model: string): HubDownloadSummary {
    const key = keyOf(model)
    const existing = this.jobs.get(key)
    if (existing?.summary.state === 'running') return { ...existing.summary }
    const running = [...this.jobs.values()].filter((job) => job.summary.state === 'running').length
    if (running >= maxRunning) throw new RequestError(`downloadModel: ${running} downloads are running already; wait for one to finish or cancel one`)
    const reference = parseHubId(model)!
    const abort = new AbortController()
    const summary: HubDownloadSummary = { model, state: 'running', startedAt: new Date().toISOString() }
    const job: Job = { summary, abort, done: Promise.resolve() }
    job.done = downloadHubModel(reference, { env: this.options.env ?? process.env, signal: abort.signal, onProgress: (p) => (summary.progress = progressOf(p)) }).then(
      (resolved) => {
        summary.state = 'done'
        summary.snapshot = resolved.snapshot
      },
      (error: unknown) => {
        summary.state = error instanceof HubDownloadError && error.code === 'cancelled' ? 'cancelled' : 'failed'
        summary.error = error instanceof Error ? error.message : String(error)
      }
    )
    this.jobs.delete(key)
    this.jobs.set(key, job)
    this.forgetOld()
    return { ...summary }
  }

  list(): HubDownloadSummary[] {
    return [...this.jobs.values()].map((job) => ({ ...job.summary }))
  }

  async cancel(model: string): Promise<HubDownloadSummary> {
    const job = this.jobs.get(keyOf(model))
    if (!job) throw new RequestError(`cancelDownload: no download of ${model} was started here`)
    if (job.summary.state === 'running') {
      job.abort.abort()
      await job.done
    }
    return { ...job.summary }
  }

  /** Before the back end closes: stop every download (their partial files stay for the next one). */
  async close(): Promise<void> {
    const jobs = [...this.jobs.values()]
    for (const job of jobs) job.abort.abort()
    await Promise.all(jobs.map((job) => job.done))
  }

  private forgetOld(): void {
    const ended = [...this.jobs.entries()].filter(([, job]) => job.summary.state !== 'running')
    for (const [key] of ended.slice(0, Math.max(0, ended.length - maxRemembered))) this.jobs.delete(key)
  }
}

/** `org/name` and `org/name@main` are one download; the message says why a text is not an id. */
function keyOf(model: string): string {
  const problem = hubIdProblem(model)
  if (problem !== undefined) throw new RequestError(`${JSON.stringify(model)} is not a Hub id (org/name, optionally @revision): ${problem}`)
  const reference = parseHubId(model)!
  return `${reference.id}@${reference.revision ?? 'main'}`
}

function progressOf(p: HubDownloadProgress): NonNullable<HubDownloadSummary['progress']> {
  return {
    stage: p.stage,
    ...(p.commit !== undefined && { commit: p.commit }),
    ...(p.file !== undefined && { file: p.file }),
    fileIndex: p.fileIndex,
    fileCount: p.fileCount,
    bytes: p.bytes,
    totalBytes: p.totalBytes,
    resumedBytes: p.resumedBytes,
    bytesPerSecond: p.bytesPerSecond,
    ...(p.etaSeconds !== undefined && { etaSeconds: p.etaSeconds })
  }
}
