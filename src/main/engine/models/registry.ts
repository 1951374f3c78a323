import { openCheckpoint, type ModelDescription } from '../io'
import { bertFamily } from './bert'
import { debertaFamily } from './deberta'
import { gpt2Family } from './gpt2'
import { llamaFamily, mistralFamily, qwen2Family } from './llama'
import { robertaFamily } from './roberta'
import type { ModelFamily, ModelTask } from './types'
import { useFamily } from './use'
import { vitFamily } from './vit'

/** Every family the engine can train, looked up by config.json's model_type (or its architectures). */
export const families: readonly ModelFamily[] = [gpt2Family, bertFamily, robertaFamily, debertaFamily, vitFamily, useFamily, llamaFamily, mistralFamily, qwen2Family]

const byArchitecture: Record<string, string> = { GPT2: 'gpt2', Bert: 'bert', Roberta: 'roberta', DebertaV2: 'deberta-v2', ViT: 'vit', Llama: 'llama', Mistral: 'mistral', Qwen2: 'qwen2' }

export function familyFor(config: ModelDescription | undefined, where = 'this checkpoint'): ModelFamily {
  const type = config?.modelType ?? inferType(config?.architectures)
  if (type === undefined) throw new Error(`${where} has no config.json with a model_type; training needs one (gpt2, bert, roberta, deberta-v2, vit, llama, mistral or qwen2)`)
  const family = families.find((f) => f.modelTypes.includes(type))
  if (!family) throw new Error(`${where} is a "${type}" model; training supports ${families.flatMap((f) => f.modelTypes).join(', ')}`)
  return family
}

function inferType(architectures: readonly string[] | undefined): string | undefined {
  for (const architecture of architectures ?? []) {
    for (const [prefix, type] of Object.entries(byArchitecture)) if (architecture.startsWith(prefix)) return type
  }
  return undefined
}

/** The head learning rate `siva train` and the app start from when none is given: the family's, else this. */
export const defaultHeadLr = 1e-3

export function headLrOf(family: ModelFamily): number {
  return family.headLr ?? defaultHeadLr
}

export function familyHeadLr(config: ModelDescription | undefined): number {
  try {
    return headLrOf(familyFor(config))
  } catch {
    return defaultHeadLr // not trainable: training will say why
  }
}

/** familyHeadLr for a checkpoint on disk; a checkpoint that cannot be opened gets the default (training says why). */
export async function checkpointHeadLr(path: string): Promise<number> {
  let source
  try {
    source = await openCheckpoint(path)
  } catch {
    return defaultHeadLr
  }
  try {
    return familyHeadLr(source.config)
  } finally {
    await source.close()
  }
}

/**
 * Whether a run's sequence classifier is one transformers pools at the token before the first pad id
 * (`transformers.poolsAtPadId`). Such a run tokenises its texts with special tokens read as plain text
 * (transformers' `split_special_tokens`), and its export says so in tokenizer_config.json: the pad id,
 * end-of-text, then occurs in a row only as padding, and the token transformers pools is the last real
 * one, the one the engine pools (the attention mask's last).
 */
export function poolsAtPadId(family: ModelFamily, task: ModelTask): boolean {
  return family.transformers.poolsAtPadId === true && (task === 'classification' || task === 'regression')
}
