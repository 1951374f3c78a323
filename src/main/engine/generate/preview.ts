import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { selectBackend } from '../backend'
import { TextTokenizer } from '../data/tokenizer'
import { restoreRun, type CheckpointChoice } from '../export'
import { openCheckpoint } from '../io'
import { familyFor } from '../models/registry'
import type { BuiltModel } from '../models/types'
import type { Decompose } from '../peft'
import { readRunInfo } from '../training/runFolder'
import { generateGreedy, type Generation, type GreedyOptions } from './greedy'
import { isCachedDecoder, type CachedDecoder } from './kvCache'
import { stopIdsFor } from './stopIds'

/**
 * "See it work": one prompt, the base model's greedy continuation and, for a run, the adapted model's (the
 * run's model as export restores it, adapters in place) next to it. The two run one after the other, so
 * only one model is held at a time.
 */

export interface PreviewRequest {
  /** The base checkpoint; with a run, its own model when left out (and it must be the run's when given). */
  model?: string
  runDir?: string
  /** Which of the run's checkpoints: by default the best, or the last when the run was never evaluated (as export). */
  checkpoint?: CheckpointChoice
  prompt: string
  maxNewTokens: number
}

export interface PreviewResult {
  model: string
  /** The ids that end a continuation (eos, generation_config.json's eos, chat end-of-turn tokens). */
  stopIds: number[]
  base: Generation
  adapted?: Generation & { checkpoint: { name: string; step: number } }
}

export interface PreviewHost {
  decompose: Decompose
  signal?: AbortSignal
  /** 'base' | 'restore' | 'adapted': what runs now. */
  onStage?: (stage: 'base' | 'restore' | 'adapted') => void
  /** The continuation so far, decoded, after each new token of either side. */
  onText?: (side: 'base' | 'adapted', text: string, tokens: number) => void
}

function decoderOf(model: BuiltModel, where: string): BuiltModel & CachedDecoder {
  if (!isCachedDecoder(model)) {
    throw new Error(`${where}: generation runs on decoder language models (GPT-2, Llama, Mistral, Qwen2), not this one`)
  }
  return model
}

export async function generatePreview(request: PreviewRequest, host: PreviewHost): Promise<PreviewResult> {
  const { runDir, prompt, maxNewTokens } = request
  let modelDir = request.model
  if (runDir !== undefined) {
    const { config } = await readRunInfo(runDir)
    if (config.task !== 'causal-lm') throw new Error(`${runDir}: the run trained a ${config.task} model; generation needs a causal-lm run`)
    const runModel = config.model
    if (modelDir !== undefined && resolve(modelDir) !== resolve(runModel)) throw new Error(`${runDir}: the run was trained from ${runModel}, not ${modelDir}; compare a run with its own base model`)
    modelDir = runModel
  }
  if (modelDir === undefined) throw new Error('say which model to generate with (a checkpoint folder, or a run)')
  const tokenizer = await TextTokenizer.load(modelDir)
  const stopIds = await stopIdsFor(tokenizer, modelDir)
  const options = (side: 'base' | 'adapted'): GreedyOptions => ({
    maxNewTokens,
    stopIds,
    ...(host.signal && { signal: host.signal }),
    ...(host.onText && { onToken: (ids: readonly number[]) => host.onText!(side, tokenizer.decode([...ids]), ids.length) })
  })

  host.onStage?.('base')
  await selectBackend('auto', { without: ['webgpu'] })
  const source = await openCheckpoint(modelDir)
  let base: Generation
  try {
    const model = await familyFor(source.config, modelDir).build(source, source.config!, { task: 'causal-lm' })
    try {
      base = await generateGreedy(decoderOf(model, modelDir), tokenizer, prompt, options('base'))
    } finally {
      model.dispose()
    }
  } finally {
    await source.close()
  }
  const result: PreviewResult = { model: modelDir, stopIds, base }
  if (runDir === undefined || host.signal?.aborted) return result

  host.onStage?.('restore')
  const checkpoint = request.checkpoint ?? (existsSync(join(runDir, 'checkpoints', 'best.json')) ? 'best' : 'last')
  const restored = await restoreRun(runDir, checkpoint, host.decompose, { keepModel: true, ...(host.signal && { signal: host.signal }) })
  try {
    if (restored.plan.task !== 'causal-lm') throw new Error(`${runDir}: the run trained a ${restored.plan.task} model; generation needs a causal-lm run`)
    const model = decoderOf(restored.model!, runDir)
    host.onStage?.('adapted')
    const adapted = await generateGreedy(model, tokenizer, prompt, options('adapted'))
    result.adapted = { ...adapted, checkpoint: { name: restored.checkpoint.name, step: restored.checkpoint.state.step } }
  } finally {
    await restored.close()
  }
  return result
}
