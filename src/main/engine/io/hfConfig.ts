/**
 * Hugging Face `config.json`, read the way `transformers` reads each family: GPT-2 names its fields
 * n_embd / n_layer / n_head / n_inner, BERT-like families hidden_size / num_hidden_layers / ...; a
 * field a saved config leaves out takes the family's default, as the config class would.
 */
import { join } from 'node:path'
import { ConfigFields } from './configFields'
import { readJsonObject } from './jsonFile'

export interface ModelDescription {
  /** The config.json this was read from, named in every error about its fields (absent for a description made up from a graph). */
  file?: string
  /** `model_type`, e.g. 'gpt2', 'bert', 'roberta', 'vit'. */
  modelType?: string
  architectures?: string[]
  hiddenSize?: number
  numLayers?: number
  numHeads?: number
  /** Width of the MLP's inner layer. */
  intermediateSize?: number
  vocabSize?: number
  maxPositions?: number
  layerNormEps?: number
  activation?: string
  /** Vision models: input side length, patch side length, colour channels. */
  imageSize?: number
  patchSize?: number
  numChannels?: number
  /** Only when the config declares labels (id2label or num_labels): a checkpoint without a head has none. */
  numLabels?: number
  id2label?: Record<number, string>
  label2id?: Record<string, number>
  /** `torch_dtype` (newer transformers write `dtype`). */
  torchDtype?: string
  /** transformers ties the output embedding to the input one unless the config says otherwise. */
  tieWordEmbeddings: boolean
  /** The whole config.json, for fields this description does not name. */
  raw: Record<string, unknown>
}

type Config = Record<string, unknown>

/**
 * The most a config may claim, field by field: generous beside every released model (the deepest have
 * about 130 layers, the widest a hidden size of about 20,000, the largest vocabularies about 260,000 entries,
 * the longest contexts about 10 million positions), yet small enough that what is made from the claim
 * alone, before any tensor is read (the list of targets), stays small: `num_hidden_layers: 1e12` is
 * refused here instead of building a trillion targets. The families then check the claims against the
 * tensors (models/configChecks.ts), so what is built is as large as the file, no larger.
 */
export const configLimits = {
  hiddenSize: 65_536,
  numLayers: 1024,
  numHeads: 1024,
  intermediateSize: 262_144,
  vocabSize: 4_194_304,
  maxPositions: 16_777_216,
  imageSize: 16_384,
  patchSize: 16_384,
  numChannels: 1024,
  numLabels: 1_048_576
} as const

/** Where a family keeps each common field. */
interface FamilyFields {
  hiddenSize: string
  numLayers: string
  numHeads: string
  maxPositions: string
  layerNormEps: string
  activation: string
}

const gpt2Fields: FamilyFields = {
  hiddenSize: 'n_embd',
  numLayers: 'n_layer',
  numHeads: 'n_head',
  maxPositions: 'n_positions',
  layerNormEps: 'layer_norm_epsilon',
  activation: 'activation_function'
}

const standardFields: FamilyFields = {
  hiddenSize: 'hidden_size',
  numLayers: 'num_hidden_layers',
  numHeads: 'num_attention_heads',
  maxPositions: 'max_position_embeddings',
  layerNormEps: 'layer_norm_eps',
  activation: 'hidden_act'
}

/** Defaults of the transformers config classes, used when a (hand-written) config omits a field. */
const bertDefaults: Config = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  max_position_embeddings: 512,
  layer_norm_eps: 1e-12
}

const familyDefaults: Record<string, Config> = {
  gpt2: {
    vocab_size: 50257,
    n_positions: 1024,
    n_embd: 768,
    n_layer: 12,
    n_head: 12,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5
  },
  bert: bertDefaults,
  roberta: { ...bertDefaults, vocab_size: 50265 },
  vit: {
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    hidden_act: 'gelu',
    layer_norm_eps: 1e-12,
    image_size: 224,
    patch_size: 16,
    num_channels: 3
  }
}

/** The description of `dir/config.json`, or undefined when there is none. */
export async function readModelConfig(dir: string): Promise<ModelDescription | undefined> {
  const file = join(dir, 'config.json')
  const raw = await readJsonObject(file, { optional: true })
  if (raw === undefined) return undefined
  return describeModel(file, raw as Config)
}

/** Normalise a parsed config; `file` names it in errors. */
export function describeModel(file: string, raw: Config): ModelDescription {
  const read = new ConfigFields(file, raw)
  const modelType = read.string('model_type')
  const isGpt2 = modelType === 'gpt2'
  const fields = isGpt2 ? gpt2Fields : standardFields
  // Known families fall back to their defaults; an unknown one reports what is there, under either naming.
  const defaults = modelType !== undefined ? familyDefaults[modelType] : undefined
  const nameOf = (key: keyof FamilyFields): string => {
    if (isGpt2 || defaults) return fields[key]
    return raw[standardFields[key]] === undefined && raw[gpt2Fields[key]] !== undefined ? gpt2Fields[key] : standardFields[key]
  }
  const withDefault = <T>(value: T | undefined, key: string): T | undefined => value ?? (defaults?.[key] as T | undefined)
  const integer = (key: string, max: number): number | undefined => withDefault(read.integer(key, max), key)

  const hiddenSize = integer(nameOf('hiddenSize'), configLimits.hiddenSize)
  // GPT-2's MLP is n_inner wide, or 4·n_embd when n_inner is null; it never reads intermediate_size.
  const intermediateSize = isGpt2
    ? (read.integer('n_inner', configLimits.intermediateSize) ?? (hiddenSize === undefined ? undefined : 4 * hiddenSize))
    : integer('intermediate_size', configLimits.intermediateSize)
  const labels = readLabels(read)

  const described: Partial<ModelDescription> = {
    modelType,
    architectures: read.stringList('architectures'),
    hiddenSize,
    numLayers: integer(nameOf('numLayers'), configLimits.numLayers),
    numHeads: integer(nameOf('numHeads'), configLimits.numHeads),
    intermediateSize,
    vocabSize: integer('vocab_size', configLimits.vocabSize),
    maxPositions: integer(nameOf('maxPositions'), configLimits.maxPositions),
    layerNormEps: withDefault(read.number(nameOf('layerNormEps')), nameOf('layerNormEps')),
    activation: withDefault(read.string(nameOf('activation')), nameOf('activation')),
    imageSize: integer('image_size', configLimits.imageSize),
    patchSize: integer('patch_size', configLimits.patchSize),
    numChannels: integer('num_channels', configLimits.numChannels),
    ...labels,
    torchDtype: read.string('torch_dtype') ?? read.string('dtype')
  }
  const present = Object.fromEntries(Object.entries(described).filter(([, value]) => value !== undefined))
  return { file, ...present, tieWordEmbeddings: read.boolean('tie_word_embeddings') ?? true, raw }
}

function readLabels(read: ConfigFields): Pick<ModelDescription, 'numLabels' | 'id2label' | 'label2id'> {
  const id2label = read.object('id2label')
  const label2id = read.object('label2id')
  const result: Pick<ModelDescription, 'numLabels' | 'id2label' | 'label2id'> = {}
  if (id2label) {
    if (Object.keys(id2label).length > configLimits.numLabels) read.fail('id2label', `lists more than ${configLimits.numLabels.toLocaleString('en-US')} labels`)
    result.id2label = {}
    for (const [id, label] of Object.entries(id2label)) {
      // transformers turns the JSON keys back into integers; a key that is not one is a broken config.
      if (!/^-?\d+$/.test(id) || typeof label !== 'string') read.invalid('id2label', 'must map integer ids to label strings')
      result.id2label[Number(id)] = label as string
    }
  }
  if (label2id) {
    // Null prototype: a label may be called `__proto__`, which a plain object would swallow.
    result.label2id = Object.create(null) as Record<string, number>
    for (const [label, id] of Object.entries(label2id)) {
      if (!Number.isInteger(id)) read.invalid('label2id', 'must map label strings to integer ids')
      result.label2id[label] = id as number
    }
  }
  // transformers derives num_labels from id2label when both are given.
  const numLabels = result.id2label ? Object.keys(result.id2label).length : read.integer('num_labels', configLimits.numLabels)
  if (numLabels !== undefined) result.numLabels = numLabels
  return result
}
