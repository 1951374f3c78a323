import type * as tf from '@tensorflow/tfjs'
import type { ModelDescription, TensorInfo, TensorSource } from '../io'

/**
 * The contract between model families (gpt2, bert, roberta, deberta, vit, use — one folder each) and the adaptation
 * methods (engine/peft): a family knows its architecture and where each weight lives; a method decides
 * how a chosen projection computes. The two meet in `LinearFn`.
 */

/** What the model is trained to do; decides the head and the loss. */
export type ModelTask = 'classification' | 'regression' | 'causal-lm' | 'image-classification'

/**
 * A projection a method may adapt. Described in `nn.Linear` terms whatever the storage: W is [out, in]
 * and y = x Wᵀ + b. GPT-2's Conv1D stores Wᵀ ([in, out]), and its c_attn holds q|k|v side by side: each
 * block is its own target (`transformer.h.0.attn.c_attn.q`), cut out by `slice`.
 */
export interface AdaptableLinear {
  /** PEFT-style module name, what target regexes match: `bert.encoder.layer.3.attention.self.query`. */
  name: string
  /** The checkpoint tensor holding the weight, and the bias if any. */
  weightTensor: string
  biasTensor?: string
  /** Stored [in, out] (GPT-2's Conv1D) rather than nn.Linear's [out, in]. */
  conv1d: boolean
  /** Fused storage: this target's outputs are [start, end) of the stored tensor's output axis. */
  slice?: [number, number]
  outFeatures: number
  inFeatures: number
  /** Transformer block index. */
  block: number
  /**
   * What the projection does, the same words across families so defaults and presets can be written once:
   * 'query' | 'key' | 'value' | 'attention.output' | 'mlp.in' | 'mlp.out'.
   */
  role: 'query' | 'key' | 'value' | 'attention.output' | 'mlp.in' | 'mlp.out'
}

/** y = x Wᵀ + b for x of shape [n, in]; returns [n, out]. Must not dispose x. */
export type LinearFn = (x: tf.Tensor2D) => tf.Tensor2D

/**
 * The inputs of one batch, as engine/data produces them (row-major typed arrays). Text models read
 * `inputIds`/`attentionMask`/`tokenTypeIds` as [batch, length]; vision models read `pixels` as
 * [batch, 3, height, width].
 */
export interface ModelInputs {
  batchSize: number
  length?: number
  inputIds?: Int32Array
  attentionMask?: Int32Array
  tokenTypeIds?: Int32Array
  pixels?: Float32Array
  /**
   * Training: apply the checkpoint's dropout (hidden, attention, classifier), with masks drawn from this
   * seed. Absent for evaluation and inference.
   */
  dropoutSeed?: number
}

export interface BuildOptions {
  task: ModelTask
  /** Classification: the number of classes (a head of this size is created when the checkpoint has none that fits). */
  numLabels?: number
  /** Adapted projections by target name; every other projection is frozen (or trainable with `trainAll`). */
  linears?: ReadonlyMap<string, LinearFn>
  /** Full fine-tuning: every weight becomes a variable. */
  trainAll?: boolean
  /** Seed for a new head's initialisation (normal(0, initializer_range), zero bias, as transformers does). */
  seed?: number
  /**
   * Causal LM: positions per chunk of the LM head's loss (default: as many as keep 16 M logits at once; see
   * models/lmLoss.ts). Tests set it small to cut uneven chunks.
   */
  lossChunkTokens?: number
}

/** A model ready to run: its forward pass and which of its tensors train. */
export interface BuiltModel {
  /**
   * Logits: [batch, numLabels] for classification, [batch, 1] for regression, [batch, length, vocab]
   * for causal LM. Call inside tf.tidy or a gradient function.
   */
  forward(inputs: ModelInputs): tf.Tensor
  /**
   * The task's loss against `labels` (as loss.ts's taskLoss takes them), where the model computes it
   * without materialising forward()'s logits (a causal LM's [batch, length, vocab]). Absent: taskLoss of
   * forward(). Call through lossOf, inside tf.tidy or a gradient function.
   */
  loss?(inputs: ModelInputs, labels: tf.Tensor): tf.Scalar
  /** The task head's variables (always trainable) — a new head or the checkpoint's own — in the checkpoint's layout. */
  headVariables: tf.Variable[]
  /** With `trainAll`: every other weight as a variable; otherwise empty. Kept in the checkpoint's layout. */
  baseVariables: tf.Variable[]
  /** The checkpoint tensor each base variable is exported as (same order as baseVariables). */
  baseTensors?: string[]
  /** Whether the head was (partly) created, and the tensor name each head variable is exported as (same order). */
  head: { created: boolean; tensors: string[] }
  dispose(): void
}

/** One architecture: recognises its configs, lists its projections, builds the model from a checkpoint. */
export interface ModelFamily {
  /** `model_type` values it reads. */
  readonly modelTypes: readonly string[]
  /**
   * Every projection methods may adapt, in block order. With the checkpoint's tensor list, weight names
   * follow what it actually holds (a bare GPT2Model/BertModel/ViTModel saves them without the prefix);
   * without it, the prefix is inferred from config.json's `architectures`.
   */
  targets(config: ModelDescription, tensors?: readonly TensorInfo[]): AdaptableLinear[]
  /** PEFT's default targets for this architecture (e.g. q and v). */
  defaultTargets: RegExp
  /**
   * The task head's learning rate when none is given, where the engine's 1e-3 suits this family's
   * features badly (the sentence encoder's are unit-length 512-d vectors: a new head learns ~25× slower).
   */
  readonly headLr?: number
  build(source: TensorSource, config: ModelDescription, options: BuildOptions): Promise<BuiltModel>
  /**
   * How transformers names this family, for export: the base model's attribute in the classes with a head
   * (`bert`, `transformer`), the class it loads for each task (`config.json`'s `architectures`), and
   * which of the checkpoint's tensors that class holds besides the trained head (`classTensors`, matched
   * against names as the merged export writes them, with the prefix): the rest — another task's head
   * (`cls.predictions.*`, `lm_head.*`) or a pooler the class does not build — is left out of a merged
   * export, which transformers would otherwise report as weights "not used when initializing".
   */
  transformers: {
    basePrefix: string
    architectures: Partial<Record<ModelTask, string>>
    classTensors: Partial<Record<ModelTask, RegExp>>
    /**
     * Its *ForSequenceClassification pools the token before the first `pad_token_id` of each row (GPT-2 and
     * the other decoders), rather than the last one the attention mask keeps: the export then makes the pad
     * id one that text cannot produce (see export/configFields.ts).
     */
    poolsAtPadId?: boolean
  }
}
