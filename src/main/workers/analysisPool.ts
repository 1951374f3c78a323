import { WorkerPool } from './pool'
import type { SvdTask, SvdTaskResult } from './protocol'
import type { SvdJob, SvdJobResult, SvdRunner } from '../engine/spectra/inspect'

/** Where the worker entry sits: beside this module, as .ts from source or .js in the bundle. */
function analysisWorkerEntry(): URL {
  const fromSource = import.meta.url.endsWith('.ts')
  return new URL(fromSource ? './analysisWorker.ts' : './analysisWorker.js', import.meta.url)
}

/** The SVD pool: one matrix per task, as many workers as cores. */
export class AnalysisPool {
  private readonly pool: WorkerPool<SvdTask, SvdTaskResult>

  constructor(size?: number) {
    this.pool = new WorkerPool<SvdTask, SvdTaskResult>(analysisWorkerEntry(), size)
  }

  get size(): number {
    return this.pool.size
  }

  /** The engine-facing runner: hands each matrix to a worker (transferring its buffer). */
  readonly runSvd: SvdRunner = async (job: SvdJob, signal?: AbortSignal): Promise<SvdJobResult> => {
    const task: SvdTask = { name: job.name, m: job.m, n: job.n, matrix: job.matrix, vectors: job.vectors, returnVectors: job.returnVectors ?? false }
    const result = await this.pool.run(task, { transfer: [job.matrix.buffer as ArrayBuffer], signal, label: `the SVD of ${job.name}` })
    return { s: result.s, u: result.u, vt: result.vt, seconds: result.seconds }
  }

  close(): Promise<void> {
    return this.pool.close()
  }
}
