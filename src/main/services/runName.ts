import { resolve } from 'node:path'
import type { TrainConfig } from '../../shared/training'
import { openCheckpoint } from '../engine/io'
import type { ModelDescription } from '../engine/io/hfConfig'

/**
 * The name a run's id is made from when the user gives none: the model's own name and the method,
 * `tiny-random-gpt2-siva`. The folder a checkpoint sits in is a poor name more often than not (the demo's
 * is `dist`, a Hugging Face cache's a commit hash under `snapshots`), so the name comes, in order, from
 * config.json's `_name_or_path` (what `from_pretrained` loaded), the model's type with the task it is
 * trained for (`bert-cls`), and only then the path's own folders, generic ones passed over.
 */
export async function defaultRunName(config: Pick<TrainConfig, 'model' | 'task' | 'method'>): Promise<string> {
  let description: ModelDescription | undefined
  try {
    const source = await openCheckpoint(config.model)
    description = source.config
    await source.close()
  } catch {
    // An unreadable checkpoint still gets a run (which then fails and says why): name it after its path.
  }
  return `${modelName(config.model, config.task, description)}-${config.method}`
}

const taskWords: Record<TrainConfig['task'], string> = { classify: 'cls', regress: 'reg', 'causal-lm': 'lm', 'image-classify': 'cls' }

/** The model's own name, from its description when it has one that means something, else from its path. */
export function modelName(modelPath: string, task: TrainConfig['task'], description?: Pick<ModelDescription, 'modelType' | 'raw'>): string {
  const raw = description?.raw ?? {}
  for (const key of ['_name_or_path', 'name_or_path']) {
    const value = raw[key]
    const named = typeof value === 'string' ? nameFromPath(value) : undefined
    if (named) return named
  }
  const type = description?.modelType ? slug(description.modelType) : undefined
  if (type) return `${type}-${taskWords[task]}`
  return nameFromPath(resolve(modelPath)) ?? 'model'
}

/**
 * Folder names that say nothing of the model: build outputs, a Hub cache's layout, checkpoints by step,
 * places anything could be saved to.
 */
const generic = new Set(['', '.', '..', 'dist', 'build', 'out', 'output', 'outputs', 'model', 'models', 'weights', 'snapshots', 'snapshot', 'checkpoint', 'checkpoints', 'final', 'best', 'last', 'latest', 'merged', 'export', 'exports', 'tmp', 'temp', 'hub', 'main', 'files', 'node_modules', 'resources', 'demo-model', 'huggingface', 'cache', '.cache', 'tfjs', 'saved_model'])

/** Also generic: commit hashes (a cache's snapshots/<sha>), numbered checkpoints, and bare numbers. */
function isGeneric(name: string): boolean {
  const lower = name.toLowerCase()
  return generic.has(lower) || /^[0-9a-f]{12,64}$/.test(lower) || /^(checkpoint|step|epoch|ckpt)[-_]?\d+$/.test(lower) || /^\d+$/.test(lower)
}

/**
 * The last meaningful folder of a path or Hub id (`org/name`, `/home/me/finetuned-sst2/checkpoint-500`,
 * `…/models--org--name/snapshots/<sha>`), looked for among its last few parts; undefined when none is.
 */
export function nameFromPath(path: string): string | undefined {
  const parts = path.split(/[\\/]+/).filter((p) => p !== '')
  for (const part of parts.slice(-6).reverse()) {
    // A Hugging Face cache entry is named after the repository: models--org--name.
    const cached = /^models--(?:.+--)?(.+)$/.exec(part)
    const name = cached ? cached[1]! : part
    if (isGeneric(name)) continue
    const safe = slug(name)
    if (safe && !isGeneric(safe)) return safe
  }
  return undefined
}

/** Letters, digits, `.`, `_` and `-` only, as a run id allows, at most 60 characters. */
function slug(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-._]+/, '')
    .replace(/[-.]+$/, '')
    .slice(0, 60)
}
