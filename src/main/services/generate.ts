import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Params, StreamEvents } from '../../shared/api'
import { generatePreview, type Generation } from '../engine/generate'
import { cachedDecompose } from '../engine/peft'
import type { AnalysisPool } from '../workers/analysisPool'
import { RequestError } from './requestError'
import type { RunSupervisor } from './runSupervisor'

export interface GenerateContext {
  runsDir: string
  svdCacheDir: string
  pool: AnalysisPool
  supervisor: RunSupervisor
}

const side = (g: Generation): { text: string; tokens: number; stoppedBy: Generation['stoppedBy']; seconds: number } => ({ text: g.text, tokens: g.ids.length, stoppedBy: g.stoppedBy, seconds: g.seconds })

/**
 * The Train and Export steps' generation preview: the run's base model continues the prompt, then the run
 * restored as export restores it (SVDs on the shared pool, cached); the text so far goes out after each
 * token, and closing the stream (the Cancel button) stops between tokens. Runs in this process, as export does.
 */
export async function streamGeneratePreview(context: GenerateContext, p: Params<'generatePreview'>, emit: (event: StreamEvents['generatePreview']) => void, signal: AbortSignal): Promise<void> {
  const runDir = join(context.runsDir, p.runId)
  if (!existsSync(join(runDir, 'run.json'))) throw new RequestError(`${p.runId}: no such run in ${context.runsDir}`)
  if (context.supervisor.isTraining(p.runId)) throw new RequestError(`${p.runId}: is still training; preview it when it has finished or been cancelled`)
  const result = await generatePreview(
    { runDir, ...(p.checkpoint !== undefined && { checkpoint: p.checkpoint }), prompt: p.prompt, maxNewTokens: p.maxNewTokens },
    {
      decompose: cachedDecompose(context.pool.runSvd, { cacheDir: context.svdCacheDir, signal }),
      signal,
      onStage: (stage) => emit({ type: 'stage', stage }),
      onText: (which, text, tokens) => emit({ type: 'text', side: which, text, tokens })
    }
  )
  if (signal.aborted) return
  emit({
    type: 'result',
    preview: {
      model: result.model,
      promptTokens: result.base.promptIds.length,
      base: side(result.base),
      ...(result.adapted && { adapted: { ...side(result.adapted), checkpoint: result.adapted.checkpoint } })
    }
  })
}
