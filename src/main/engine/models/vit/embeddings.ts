import * as tf from '@tensorflow/tfjs'
import type { LinearFn, ModelInputs } from '../types'
import type { VitSettings } from './settings'
import type { VitWeights } from './weights'

/**
 * ViT's embeddings without a convolution: the wasm backend has no gradient for conv2d, and a conv whose
 * stride equals its kernel is a matmul anyway. Each image is cut into non-overlapping p×p patches in
 * row-major patch order, each patch flattened as (channel, row, column) — the order in which the conv
 * kernel [hidden, channels, p, p] flattens — and multiplied by the kernel as an [hidden, channels·p·p]
 * matrix, plus its bias. Then [CLS] goes first and the position embeddings are added. Position
 * embeddings are not interpolated, so the input must be exactly the config's image_size.
 */
export interface PatchEmbeddings {
  /** [batch, 1 + patches, hidden]. Call inside tf.tidy or a gradient function. */
  embed(inputs: ModelInputs): tf.Tensor3D
}

export async function loadEmbeddings(weights: VitWeights, settings: VitSettings, prefix: string): Promise<PatchEmbeddings> {
  const { hiddenSize, numChannels, patchSize, numPatches } = settings
  const module = `${prefix}embeddings`
  const projection = `${module}.patch_embeddings.projection`
  const project: LinearFn = await weights.linear(`${projection}.weight`, `${projection}.bias`, [hiddenSize, numChannels, patchSize, patchSize], 'the patch embedding')
  const cls = await weights.read(`${module}.cls_token`, [1, 1, hiddenSize], 'the [CLS] token')
  const positions = await weights.read(`${module}.position_embeddings`, [1, numPatches + 1, hiddenSize], `position embeddings for ${settings.imageSize}×${settings.imageSize} images`)
  return {
    embed(inputs) {
      const batch = checkPixels(inputs, settings)
      const grid = settings.imageSize / patchSize
      // [b, c, gy·p + y, gx·p + x] → [b, gy, gx, c, y, x]: a patch's values become contiguous, in the kernel's order.
      const patches = tf
        .tensor(inputs.pixels!, [batch, numChannels, grid, patchSize, grid, patchSize], 'float32')
        .transpose([0, 2, 4, 1, 3, 5])
        .reshape([batch * numPatches, numChannels * patchSize * patchSize]) as tf.Tensor2D
      const embedded = project(patches).reshape([batch, numPatches, hiddenSize])
      const sequence = tf.concat([tf.tile(cls, [batch, 1, 1]), embedded], 1)
      return tf.add(sequence, positions)
    }
  }
}

/** The batch size, after checking the pixels are there and hold batch × channels × image_size² values. */
function checkPixels(inputs: ModelInputs, settings: VitSettings): number {
  const pixels = inputs.pixels
  if (!pixels) throw new Error('vit: the inputs have no pixels; a ViT takes images, not text (token ids)')
  const batch = inputs.batchSize
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`vit: batchSize must be a positive whole number, got ${batch}`)
  const { numChannels: channels, imageSize: size } = settings
  if (pixels.length === batch * channels * size * size) return batch
  const perImage = pixels.length / (batch * channels)
  const side = Math.sqrt(perImage)
  const got = Number.isInteger(side) ? `${side}×${side} images` : `${pixels.length} values for ${batch} image(s) of ${channels} channels`
  throw new Error(
    `vit: the model takes ${size}×${size} images with ${channels} channels (image_size in config.json; its position embeddings are made for that size ` +
      `and are not interpolated), got ${got}; resize the images to ${size}×${size}`
  )
}
