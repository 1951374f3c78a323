import { WorkerPool } from './pool'
import { workerEntry } from './spawn'
import type { SvdTask, SvdTaskResult } from './protocol'
import type { SvdJob, SvdJobResult, SvdRunner } from '../engine/spectra/inspect'


/** The SVD pool: one matrix per task, as many workers as cores. */
export class AnalysisPool {
  private readonly pool: WorkerPool<SvdTask, SvdTaskResult>

  constructor(size?: number) {
    this.pool = new WorkerPool<SvdTask, SvdTaskResult>(workerEntry('analysisWorker', import.meta.url), size)
  }

  get size(): number {
    return this.pool.size
  }

  /** The engine-facing runner: hands each matrix to a worker (transferring its buffer). */
  readonly runSvd: SvdRunner = async (job: SvdJob, signal?: AbortSignal): Promise<SvdJobResult> => {
    const task: SvdTask = { name: job.name, m: job.m, n: job.n, matrix: job.matrix, vectors: job.vectors, returnVectors: job.returnVectors ?? false, ...(job.band && { band: job.band }) }
    const result = await this.pool.run(task, { transfer: [job.matrix.buffer as ArrayBuffer], signal, label: `the SVD of ${job.name}` })
    return { s: result.s, u: result.u, vt: result.vt, seconds: result.seconds, ...(result.band && { band: result.band }) }
  }

  close(): Promise<void> {
    return this.pool.close()
  }
}
