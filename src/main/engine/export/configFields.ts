import { join } from 'node:path'
import { poolsAtPadId } from '../models/registry'
import type { ModelFamily, ModelTask } from '../models/types'
import { labelMapFile } from '../data'
import { readJsonObject } from '../io/jsonFile'

/**
 * The config.json fields transformers reads to build the model a run trained: the class with the right
 * head (`architectures`), the labels (`num_labels`, `id2label`, `label2id`) and the loss (`problem_type`).
 */
export function taskConfigFields(family: ModelFamily, task: ModelTask, labels: readonly string[] | undefined, config: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {}
  const architecture = family.transformers.architectures[task]
  if (architecture) fields['architectures'] = [architecture]
  if (task === 'classification' || task === 'image-classification') {
    if (!labels) throw new Error('the run has no class names to write into config.json (its data/labels.json and events are missing)')
    Object.assign(fields, { num_labels: labels.length, ...labelMapFile(labels), problem_type: 'single_label_classification' })
  } else if (task === 'regression') {
    Object.assign(fields, { num_labels: 1, ...labelMapFile(['LABEL_0']), problem_type: 'regression' })
  }
  // GPT2ForSequenceClassification refuses batches of more than one row without a pad id; training padded with end-of-text.
  if (poolsAtPadId(family, task) && config['pad_token_id'] == null && typeof config['eos_token_id'] === 'number') {
    fields['pad_token_id'] = config['eos_token_id']
  }
  return fields
}

/**
 * tokenizer_config.json fields a merged export of such a run sets, so that the tokenizer loaded from the
 * export encodes as training did and pads with the pad id config.json names: `split_special_tokens`
 * (a "<|endoftext|>" written in a text is tokenised as text, never as the pad id) and `pad_token` (the
 * end-of-text token, found by its id in tokenizer.json or by name in tokenizer_config.json). undefined
 * for every other run.
 */
export async function taskTokenizerFields(family: ModelFamily, task: ModelTask, config: Record<string, unknown>, modelDir: string): Promise<Record<string, unknown> | undefined> {
  if (!poolsAtPadId(family, task)) return undefined
  const fields: Record<string, unknown> = { split_special_tokens: true }
  const padId = typeof config['pad_token_id'] === 'number' ? config['pad_token_id'] : config['eos_token_id']
  const tokenizerConfig = (await readJsonObject(join(modelDir, 'tokenizer_config.json'), { optional: true })) ?? {}
  if (tokenizerConfig['pad_token'] == null) {
    const pad = await tokenWithId(modelDir, padId) ?? tokenContent(tokenizerConfig['eos_token'])
    if (pad !== undefined) fields['pad_token'] = pad
  }
  return fields
}

/** The added token of tokenizer.json with this id, if any. */
async function tokenWithId(modelDir: string, id: unknown): Promise<string | undefined> {
  if (typeof id !== 'number') return undefined
  const tokenizer = await readJsonObject(join(modelDir, 'tokenizer.json'), { optional: true })
  const added = Array.isArray(tokenizer?.['added_tokens']) ? (tokenizer['added_tokens'] as unknown[]) : []
  for (const token of added) {
    if (typeof token === 'object' && token !== null && (token as Record<string, unknown>)['id'] === id) {
      const content = (token as Record<string, unknown>)['content']
      if (typeof content === 'string') return content
    }
  }
  return undefined
}

/** A token as tokenizer_config.json writes it: a string, or an AddedToken object with `content`. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)['content'] === 'string') return (value as Record<string, unknown>)['content'] as string
  return undefined
}
