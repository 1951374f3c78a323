import { existsSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { ModelSummary, Params, StreamEvents } from '../../shared/api'
import { namePattern } from '../../shared/pattern/safePattern'
import { isFloatDtype } from '../engine/io/dtypes'
import { openCheckpoint } from '../engine/io'
import { resolveModelLocation } from '../engine/io/hubCache'
import { familyFor, headLrOf } from '../engine/models/registry'
import { inspectSource } from '../engine/spectra'
import type { AnalysisPool } from '../workers/analysisPool'

/**
 * A model as the Model step and Inspect accept it: a folder or file, or a Hugging Face Hub id (org/name@rev)
 * resolved in the local cache to its snapshot folder (which is what the summary's path then names). The text
 * comes as the user typed it: a folder that exists wins over an id of the same spelling.
 */
async function modelFolderOf(path: string): Promise<string> {
  return (await resolveModelLocation(path)).path
}

/** What the Model step shows of a checkpoint: its format, size, dtypes and the projections a method may adapt. */
export async function describeModel(given: string): Promise<ModelSummary> {
  const path = await modelFolderOf(given)
  const source = await openCheckpoint(path)
  try {
    const dtypes: Record<string, number> = {}
    let parameters = 0
    for (const t of source.tensors) {
      const count = t.shape.reduce((a, b) => a * b, 1)
      parameters += count
      dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + count
    }
    const config = source.config
    const folder = (await stat(path)).isDirectory() ? path : dirname(path)
    const summary: ModelSummary = {
      path: source.source,
      format: source.format,
      ...(config?.modelType && { modelType: config.modelType }),
      architectures: config?.architectures ?? [],
      parameters,
      dtypes,
      layers: config?.numLayers ?? 0,
      ...(config?.hiddenSize !== undefined && { hiddenSize: config.hiddenSize }),
      targets: [],
      // The sentence encoder's SentencePiece vocabulary stands in for tokenizer.json.
      tokenizer: existsSync(join(folder, 'tokenizer.json')) || (config?.modelType === 'use-lite' && existsSync(join(folder, 'vocab.json'))),
      imageProcessor: existsSync(join(folder, 'preprocessor_config.json'))
    }
    try {
      const family = familyFor(config, path)
      summary.targets = family.targets(config!, source.tensors).map((t) => ({
        name: t.name,
        block: t.block,
        role: t.role,
        shape: [t.outFeatures, t.inFeatures],
        // The spectrum's name: a fused block is analysed as its tensor plus the part (q, k or v), as the target name ends.
        matrix: t.slice ? `${t.weightTensor}.${t.name.split('.').at(-1)}` : t.weightTensor
      }))
      summary.defaultTargets = family.defaultTargets.source
      summary.headLr = headLrOf(family)
    } catch (error) {
      summary.notTrainable = error instanceof Error ? error.message : String(error)
    }
    if (!Object.keys(dtypes).some((d) => isFloatDtype(d as never))) summary.notTrainable ??= 'the checkpoint holds no floating-point weights'
    return summary
  } finally {
    await source.close()
  }
}

/** Spectra of a checkpoint's adaptable matrices on the SVD pool, one event per matrix as it is done, then the report. */
export async function analyseLayers(pool: AnalysisPool, p: Params<'analyseLayers'>, emit: (event: StreamEvents['analyseLayers']) => void, signal: AbortSignal): Promise<void> {
  const source = await openCheckpoint(await modelFolderOf(p.path))
  try {
    const report = await inspectSource(source, {
      runSvd: pool.runSvd,
      concurrency: pool.size * 2,
      signal,
      ...(p.layers !== undefined && { layers: namePattern(p.layers, 'layers') }),
      ...(p.valuesOnly !== undefined && { valuesOnly: p.valuesOnly }),
      onProgress: (progress) => emit({ type: 'progress', done: progress.done, total: progress.total, ...(progress.layer && { layer: progress.layer }), ...(progress.error && { error: progress.error }) })
    })
    emit({ type: 'report', report })
  } finally {
    await source.close()
  }
}
