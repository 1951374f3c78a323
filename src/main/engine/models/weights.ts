import * as tf from '@tensorflow/tfjs'
import type { TensorSource } from '../io'
import { matMul, readFloat32 } from './ops'
import type { LinearFn } from './types'

/**
 * What every family's weight loader shares: it reads tensors out of a checkpoint after checking their
 * shapes, and owns every tensor it makes, so a failed build or `dispose()` frees them all. Frozen weights
 * are plain tensors; with `trainAll` they are variables in the checkpoint's own layout, listed with their
 * tensor names so full fine-tuning can be exported name for name. Each family adds how its projections
 * are laid out.
 */
export class CheckpointWeights {
  readonly baseVariables: tf.Variable[] = []
  readonly baseTensors: string[] = []
  private readonly owned: tf.Tensor[] = []
  private readonly shapes: ReadonlyMap<string, readonly number[]>

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
    return readFloat32(this.source, name)
  }

  /** A tensor of the expected shape: frozen, or (with trainAll) a variable exported as `name`. */
  async read(name: string, shape: readonly number[], purpose: string): Promise<tf.Tensor> {
    const values = await this.values(name, shape, purpose)
    if (!this.trainAll) return this.keep(tf.tensor(values, [...shape], 'float32'))
    const variable = variableOf(values, shape)
    this.baseVariables.push(variable)
    this.baseTensors.push(name)
    return this.keep(variable)
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
