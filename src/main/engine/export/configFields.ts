import type { ModelFamily, ModelTask } from '../models/types'
import { labelMapFile } from '../data'

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
  if (family.transformers.basePrefix === 'transformer' && task !== 'causal-lm' && config['pad_token_id'] == null && typeof config['eos_token_id'] === 'number') {
    fields['pad_token_id'] = config['eos_token_id']
  }
  return fields
}
