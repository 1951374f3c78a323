import * as tf from '@tensorflow/tfjs'
import { readFloat32, seededNormal } from '../ops'
import type { LinearFn } from '../types'
import { CheckpointWeights, linearOf, variableOf } from '../weights'

/** An encoder's weights (see CheckpointWeights), with BERT's linears and LayerNorm's old names. */
export class WeightLoader extends CheckpointWeights {
  /** The first of `names` the checkpoint holds (old checkpoints call LayerNorm's weight `gamma`), else an error naming the first. */
  resolve(names: readonly string[], purpose: string): string {
    const found = names.find((name) => this.has(name))
    if (found === undefined) throw new Error(`${this.source.source}: no tensor ${names[0]} (needed for ${purpose})`)
    return found
  }
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
export async function headLinear(loader: CheckpointWeights, name: string, outFeatures: number, inFeatures: number, std: number, seed: number): Promise<HeadLinear> {
  const weightName = `${name}.weight`
  const biasName = `${name}.bias`
  const fits = loader.fits(weightName, [outFeatures, inFeatures]) && loader.fits(biasName, [outFeatures])
  const weightValues = fits ? await readFloat32(loader.source, weightName) : seededNormal(outFeatures * inFeatures, std, seed)
  const biasValues = fits ? await readFloat32(loader.source, biasName) : new Float32Array(outFeatures)
  const weight = variableOf(weightValues, [outFeatures, inFeatures]) as tf.Variable<tf.Rank.R2>
  const bias = variableOf(biasValues, [outFeatures]) as tf.Variable<tf.Rank.R1>
  return { linear: linearOf(weight, bias), variables: [weight, bias], tensors: [weightName, biasName], created: !fits }
}
