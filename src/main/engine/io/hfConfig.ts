/**
 * Hugging Face `config.json`, read the way `transformers` reads each family: GPT-2 names its fields
 * n_embd / n_layer / n_head / n_inner, BERT-like families hidden_size / num_hidden_layers / ...; a
 * field a saved config leaves out takes the family's default, as the config class would.
 */
import { join } from 'node:path'
import { CheckpointFormatError } from './errors'
import { readJsonObject } from './jsonFile'

export interface ModelDescription {
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
  const read = new FieldReader(file, raw)
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
  const integer = (key: string): number | undefined => withDefault(read.integer(key), key)

  const hiddenSize = integer(nameOf('hiddenSize'))
  // GPT-2's MLP is n_inner wide, or 4·n_embd when n_inner is null; it never reads intermediate_size.
  const intermediateSize = isGpt2
    ? (read.integer('n_inner') ?? (hiddenSize === undefined ? undefined : 4 * hiddenSize))
    : integer('intermediate_size')
  const labels = readLabels(read)

  const described: Partial<ModelDescription> = {
    modelType,
    architectures: read.stringList('architectures'),
    hiddenSize,
    numLayers: integer(nameOf('numLayers')),
    numHeads: integer(nameOf('numHeads')),
    intermediateSize,
    vocabSize: integer('vocab_size'),
    maxPositions: integer(nameOf('maxPositions')),
    layerNormEps: withDefault(read.number(nameOf('layerNormEps')), nameOf('layerNormEps')),
    activation: withDefault(read.string(nameOf('activation')), nameOf('activation')),
    imageSize: integer('image_size'),
    patchSize: integer('patch_size'),
    numChannels: integer('num_channels'),
    ...labels,
    torchDtype: read.string('torch_dtype') ?? read.string('dtype')
  }
  const present = Object.fromEntries(Object.entries(described).filter(([, value]) => value !== undefined))
  return { ...present, tieWordEmbeddings: read.boolean('tie_word_embeddings') ?? true, raw }
}

function readLabels(read: FieldReader): Pick<ModelDescription, 'numLabels' | 'id2label' | 'label2id'> {
  const id2label = read.object('id2label')
  const label2id = read.object('label2id')
  const result: Pick<ModelDescription, 'numLabels' | 'id2label' | 'label2id'> = {}
  if (id2label) {
    result.id2label = {}
    for (const [id, label] of Object.entries(id2label)) {
      // transformers turns the JSON keys back into integers; a key that is not one is a broken config.
      if (!/^-?\d+$/.test(id) || typeof label !== 'string') read.fail('id2label', 'must map integer ids to label strings')
      result.id2label[Number(id)] = label as string
    }
  }
  if (label2id) {
    // Null prototype: a label may be called `__proto__`, which a plain object would swallow.
    result.label2id = Object.create(null) as Record<string, number>
    for (const [label, id] of Object.entries(label2id)) {
      if (!Number.isInteger(id)) read.fail('label2id', 'must map label strings to integer ids')
      result.label2id[label] = id as number
    }
  }
  // transformers derives num_labels from id2label when both are given.
  const numLabels = result.id2label ? Object.keys(result.id2label).length : read.integer('num_labels')
  if (numLabels !== undefined) result.numLabels = numLabels
  return result
}

/** Typed access to config fields; a field of the wrong type is an error naming the file and field. */
class FieldReader {
  constructor(
    private readonly file: string,
    private readonly raw: Config
  ) {}

  fail(key: string, problem: string): never {
    throw new CheckpointFormatError(this.file, `field "${key}" ${problem} (got ${JSON.stringify(this.raw[key])})`)
  }

  private present(key: string): unknown {
    const value = this.raw[key]
    return value === null ? undefined : value
  }

  string(key: string): string | undefined {
    const value = this.present(key)
    if (value !== undefined && typeof value !== 'string') this.fail(key, 'must be a string')
    return value as string | undefined
  }

  number(key: string): number | undefined {
    const value = this.present(key)
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) this.fail(key, 'must be a number')
    return value as number | undefined
  }

  integer(key: string): number | undefined {
    const value = this.present(key)
    if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= 0)) this.fail(key, 'must be a non-negative integer')
    return value as number | undefined
  }

  boolean(key: string): boolean | undefined {
    const value = this.present(key)
    if (value !== undefined && typeof value !== 'boolean') this.fail(key, 'must be true or false')
    return value as boolean | undefined
  }

  stringList(key: string): string[] | undefined {
    const value = this.present(key)
    if (value !== undefined && !(Array.isArray(value) && value.every((v) => typeof v === 'string'))) this.fail(key, 'must be a list of strings')
    return value === undefined ? undefined : [...(value as string[])]
  }

  object(key: string): Record<string, unknown> | undefined {
    const value = this.present(key)
    if (value !== undefined && (typeof value !== 'object' || Array.isArray(value))) this.fail(key, 'must be an object')
    return value as Record<string, unknown> | undefined
  }
}
