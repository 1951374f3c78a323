import * as tf from '@tensorflow/tfjs'
import type { TensorSource } from '../../io'
import { matMul, plainLinear, readFloat32, seededNormal } from '../ops'
import type { LinearFn } from '../types'

/**
 * Reads an encoder's weights out of a checkpoint and owns every tensor it makes, so a failed build or
 * `dispose()` frees them all. Frozen weights are plain tensors; with `trainAll` they are variables in the
 * checkpoint's own layout (a linear's W stays [out, in]), listed with their tensor names so full
 * fine-tuning can be exported name for name.
 */
export class WeightLoader {
  readonly baseVariables: tf.Variable[] = []
  readonly baseTensors: string[] = []
  private readonly owned: tf.Tensor[] = []
  private readonly names: ReadonlyMap<string, readonly number[]>

  constructor(
    readonly source: TensorSource,
    readonly trainAll: boolean
  ) {
    this.names = new Map(source.tensors.map((t) => [t.name, t.shape]))
  }

  has(name: string): boolean {
    return this.names.has(name)
  }

  shapeOf(name: string): readonly number[] | undefined {
    return this.names.get(name)
  }

  /** The first of `names` the checkpoint holds (old checkpoints call LayerNorm's weight `gamma`), else an error naming the first. */
  resolve(names: readonly string[], purpose: string): string {
    const found = names.find((name) => this.names.has(name))
    if (found === undefined) throw new Error(`${this.source.source}: no tensor ${names[0]} (needed for ${purpose})`)
    return found
  }

  /** A tensor of the expected shape, frozen or (with trainAll) a variable. */
  async read(name: string, shape: readonly number[], purpose: string): Promise<tf.Tensor> {
    const values = await this.values(name, shape, purpose)
    if (!this.trainAll) return this.keep(tf.tensor(values, [...shape], 'float32'))
    const variable = variableOf(values, shape)
    this.baseVariables.push(variable)
    this.baseTensors.push(name)
    return this.keep(variable)
  }

  /** A tensor's values, after checking it is there with the expected shape. */
  private async values(name: string, shape: readonly number[], purpose: string): Promise<Float32Array> {
    const found = this.shapeOf(name)
    if (!found) throw new Error(`${this.source.source}: no tensor ${name} (needed for ${purpose})`)
    if (found.length !== shape.length || found.some((size, i) => size !== shape[i])) {
      throw new Error(`${this.source.source}: tensor ${name} has shape [${found.join(', ')}], expected [${shape.join(', ')}] (${purpose})`)
    }
    return readFloat32(this.source, name)
  }

  /**
   * y = x Wᵀ + b from an nn.Linear stored [out, in] with its bias. Frozen, Wᵀ is laid out once; with
   * trainAll, W and b are variables as stored.
   */
  async linear(weightName: string, biasName: string, outFeatures: number, inFeatures: number, purpose: string): Promise<LinearFn> {
    if (this.trainAll) {
      const weight = (await this.read(weightName, [outFeatures, inFeatures], purpose)) as tf.Tensor2D
      return linearOf(weight, (await this.read(biasName, [outFeatures], purpose)) as tf.Tensor1D)
    }
    const values = await this.values(weightName, [outFeatures, inFeatures], purpose)
    const bias = (await this.read(biasName, [outFeatures], purpose)) as tf.Tensor1D
    const weightT = this.keep(tf.tidy(() => tf.transpose(tf.tensor2d(values, [outFeatures, inFeatures]))))
    return plainLinear(weightT as tf.Tensor2D, bias)
  }

  private keep<T extends tf.Tensor>(tensor: T): T {
    this.owned.push(tensor)
    return tensor
  }

  dispose(): void {
    for (const tensor of this.owned) tensor.dispose()
    this.owned.length = 0
  }
}

/** y = x Wᵀ + b with W kept as stored, [out, in]: for weights that train and are exported as they are. */
export function linearOf(weight: tf.Tensor2D, bias?: tf.Tensor1D): LinearFn {
  return (x) => {
    const y = matMul(x, tf.transpose(weight))
    return bias ? tf.add(y, bias) : y
  }
}

/** A trainable variable holding `values`; the tensor it starts from is freed at once. */
export function variableOf(values: Float32Array, shape: readonly number[]): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(values, [...shape], 'float32'), true))
}

/** A task-head linear: trainable, in the checkpoint's layout, taken from the checkpoint when it fits. */
export interface HeadLinear {
  linear: LinearFn
  variables: tf.Variable[]
  tensors: string[]
  created: boolean
}

/**
 * The head's projection `name` ([out, in] weight and [out] bias): the checkpoint's own when both tensors
 * are there with these shapes, else new ones as transformers initialises them (weight normal(0, std)
 * from `seed`, zero bias).
 */
export async function headLinear(source: TensorSource, name: string, outFeatures: number, inFeatures: number, std: number, seed: number): Promise<HeadLinear> {
  const weightName = `${name}.weight`
  const biasName = `${name}.bias`
  const shapes = new Map(source.tensors.map((t) => [t.name, t.shape.join(',')]))
  const fits = shapes.get(weightName) === `${outFeatures},${inFeatures}` && shapes.get(biasName) === `${outFeatures}`
  const weightValues = fits ? await readFloat32(source, weightName) : seededNormal(outFeatures * inFeatures, std, seed)
  const biasValues = fits ? await readFloat32(source, biasName) : new Float32Array(outFeatures)
  const weight = variableOf(weightValues, [outFeatures, inFeatures]) as tf.Variable<tf.Rank.R2>
  const bias = variableOf(biasValues, [outFeatures]) as tf.Variable<tf.Rank.R1>
  return { linear: linearOf(weight, bias), variables: [weight, bias], tensors: [weightName, biasName], created: !fits }
}
