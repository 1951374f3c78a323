import * as tf from '@tensorflow/tfjs'
import type { TensorSource } from '../io'
import { matMul, plainLinear, readFloat32 } from './ops'
import type { AdaptableLinear, LinearFn } from './types'

/**
 * What every family's weight loader shares: it reads tensors out of a checkpoint after checking their
 * shapes, and owns every tensor it makes, so a failed build or `dispose()` frees them all. Frozen weights
 * are plain tensors; with `trainAll` they are variables in the checkpoint's own layout, listed with their
 * tensor names so full fine-tuning can be exported name for name. A tensor read twice (the q, k and v
 * blocks of a fused kernel) is the same tensor, or the same variable: one stored tensor trains as one.
 * Each family adds how its projections are laid out.
 */
export class CheckpointWeights {
  readonly baseVariables: tf.Variable[] = []
  readonly baseTensors: string[] = []
  private readonly owned: tf.Tensor[] = []
  private readonly shapes: ReadonlyMap<string, readonly number[]>
  /** What `read` made, by tensor name. */
  private readonly made = new Map<string, tf.Tensor>()
  /** The latest values read (a fused kernel and its bias, while its q, k and v blocks are cut out). */
  private recent = new Map<string, Float32Array>()

  constructor(
    readonly source: TensorSource,
    readonly trainAll: boolean
  ) {
    this.shapes = new Map(source.tensors.map((t) => [t.name, t.shape]))
  }

  has(name: string): boolean {
    return this.shapes.has(name)
  }

  shapeOf(name: string): readonly number[] | undefined {
    return this.shapes.get(name)
  }

  /** Whether the checkpoint holds `name` with exactly this shape. */
  fits(name: string, shape: readonly number[]): boolean {
    const found = this.shapes.get(name)
    return found !== undefined && sameShape(found, shape)
  }

  /** A tensor's values, after checking it is there with the expected shape. */
  async values(name: string, shape: readonly number[], purpose: string): Promise<Float32Array> {
    const found = this.shapes.get(name)
    if (!found) throw new Error(`${this.source.source}: no tensor ${name} (needed for ${purpose})`)
    if (!sameShape(found, shape)) {
      throw new Error(`${this.source.source}: tensor ${name} has shape [${found.join(', ')}], expected [${shape.join(', ')}] (${purpose})`)
    }
    let values = this.recent.get(name)
    if (!values) {
      if (this.recent.size >= 2) this.recent = new Map()
      values = await readFloat32(this.source, name)
      this.recent.set(name, values)
    }
    return values
  }

  /** A tensor of the expected shape: frozen, or (with trainAll) a variable exported as `name`. */
  async read(name: string, shape: readonly number[], purpose: string): Promise<tf.Tensor> {
    const known = this.made.get(name)
    if (known && sameShape(known.shape, shape)) return known
    const values = await this.values(name, shape, purpose)
    let tensor: tf.Tensor
    if (!this.trainAll) tensor = tf.tensor(values, [...shape], 'float32')
    else {
      tensor = variableOf(values, shape)
      this.baseVariables.push(tensor as tf.Variable)
      this.baseTensors.push(name)
    }
    this.made.set(name, tensor)
    return this.keep(tensor)
  }

  /**
   * y = x Wᵀ + b for a weight stored as `storedShape` whose leading axis is the output ([out, in] for
   * nn.Linear; [out, channels, p, p] for ViT's patch kernel, which is then an [out, channels·p·p] matrix),
   * with its bias when it has one. Frozen, Wᵀ is laid out once; with trainAll, W keeps its stored shape
   * and is reshaped in the pass.
   */
  async linear(weightName: string, biasName: string | undefined, storedShape: readonly number[], purpose: string): Promise<LinearFn> {
    const outFeatures = storedShape[0]!
    const inFeatures = storedShape.slice(1).reduce((a, b) => a * b, 1)
    const bias = biasName === undefined ? undefined : ((await this.read(biasName, [outFeatures], purpose)) as tf.Tensor1D)
    if (this.trainAll) {
      const weight = await this.read(weightName, storedShape, purpose)
      return (x) => {
        const y = matMul(x, tf.transpose(weight.reshape([outFeatures, inFeatures])))
        return (bias ? tf.add(y, bias) : y) as tf.Tensor2D
      }
    }
    const values = await this.values(weightName, storedShape, purpose)
    const weightT = this.keep(tf.tidy(() => tf.transpose(tf.tensor2d(values, [outFeatures, inFeatures]))))
    return plainLinear(weightT as tf.Tensor2D, bias)
  }

  /**
   * y = x K + b for a target whose weight is stored [in, out] (GPT-2's Conv1D; a 1×1 convolution kernel,
   * its leading unit axes dropped), or a block of such a fused tensor (`target.slice`). Frozen, a block is
   * cut out once; with trainAll the stored tensor is one variable kept whole (that is what is exported),
   * and each linear slices its columns as it runs.
   */
  async conv1dLinear(target: Pick<AdaptableLinear, 'name' | 'weightTensor' | 'biasTensor' | 'inFeatures' | 'outFeatures' | 'slice'>): Promise<LinearFn> {
    const { weightTensor, biasTensor, inFeatures, outFeatures, name } = target
    if (!biasTensor) throw new Error(`${name}: the projection has no bias`)
    const stored = this.shapeOf(weightTensor) ?? [inFeatures, outFeatures]
    const total = stored[stored.length - 1]!
    const [start, end] = target.slice ?? [0, total]
    if (end - start !== outFeatures) throw new Error(`${name}: columns [${start}, ${end}) do not hold ${outFeatures} outputs`)
    if (!target.slice && stored.length === 2) {
      return plainLinear((await this.read(weightTensor, [inFeatures, outFeatures], name)) as tf.Tensor2D, (await this.read(biasTensor, [outFeatures], name)) as tf.Tensor1D)
    }
    if (this.trainAll) {
      const weight = await this.read(weightTensor, stored, name)
      const bias = await this.read(biasTensor, [total], name)
      return (x) => tf.add(matMul(x, weight.reshape([inFeatures, total]).slice([0, start], [inFeatures, outFeatures])), bias.slice([start], [outFeatures])) as tf.Tensor2D
    }
    const weight = await this.values(weightTensor, stored, name)
    const bias = await this.values(biasTensor, [total], name)
    const block = new Float32Array(inFeatures * outFeatures)
    for (let i = 0; i < inFeatures; i++) block.set(weight.subarray(i * total + start, i * total + end), i * outFeatures)
    return plainLinear(this.keep(tf.tensor2d(block, [inFeatures, outFeatures])), this.keep(tf.tensor1d(bias.slice(start, end))))
  }

  /** Loading is over: drop the values kept for the next block of a fused tensor. */
  loaded(): void {
    this.recent = new Map()
  }

  /** An embedding table [rows, hidden], however many rows the checkpoint has. */
  async table(name: string, hidden: number): Promise<tf.Tensor2D> {
    return (await this.read(name, [this.shapeOf(name)?.[0] ?? 0, hidden], name)) as tf.Tensor2D
  }

  /** A tensor this loader frees with the model (a head's variables are the model's to free, not this). */
  keep<T extends tf.Tensor>(tensor: T): T {
    this.owned.push(tensor)
    return tensor
  }

  dispose(): void {
    for (const tensor of this.owned) tensor.dispose()
    this.owned.length = 0
    this.made.clear()
    this.recent = new Map()
    this.baseVariables.length = 0
    this.baseTensors.length = 0
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i])
}

/** A trainable variable holding `values`; the tensor it starts from is freed at once. */
export function variableOf(values: Float32Array, shape: readonly number[]): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(values, [...shape], 'float32'), true))
}

/** y = x Wᵀ + b with W kept as stored, [out, in]: for weights that train and are exported as they are. */
export function linearOf(weight: tf.Tensor2D, bias?: tf.Tensor1D): LinearFn {
  return (x) => {
    const y = matMul(x, tf.transpose(weight))
    return bias ? tf.add(y, bias) : y
  }
}
