/**
 * An image file to the tensor a vision transformer takes, step for step as Hugging Face's
 * ViTImageProcessor does it: RGB, resized to exactly height×width with PIL's filter, rescaled, then
 * normalised per channel, laid out channels first.
 */
import { decodeRgb, type RgbImage } from './decode'
import type { ImageProcessorConfig } from './preprocessorConfig'
import { resample } from './resample'

/**
 * The image as 8-bit RGB (height·width·3 bytes, interleaved) at the size the model takes, before
 * rescaling and normalisation. With `doResize` off the image must already be that size: a ViT's position
 * embeddings fix its input size.
 */
export async function resizeImage(input: string | Uint8Array, config: ImageProcessorConfig, name?: string): Promise<Uint8Array> {
  return fitToModel(await decodeRgb(input, name), config, typeof input === 'string' ? input : (name ?? 'image'))
}

/** The image as float32 in channels-first layout [3, height, width], ready for the model. */
export async function preprocessImage(input: string | Uint8Array, config: ImageProcessorConfig, name?: string): Promise<Float32Array> {
  const out = new Float32Array(3 * config.height * config.width)
  normalizeToChw(await resizeImage(input, config, name), config, out)
  return out
}

/** Resize decoded pixels to the model's size (see resizeImage); `file` names the image in errors. */
export function fitToModel(image: RgbImage, config: ImageProcessorConfig, file: string): Uint8Array {
  const { height, width } = config
  if (config.doResize) return resample(image.pixels, { width: image.width, height: image.height, channels: 3 }, width, height, config.resample)
  if (image.width !== width || image.height !== height) {
    throw new Error(
      `${file} is ${image.width}×${image.height} but the model takes ${width}×${height} and its preprocessor_config.json turns resizing off (do_resize: false); resize the images or turn it on`
    )
  }
  return image.pixels
}

/**
 * `(x · rescale_factor − mean[c]) / std[c]` for each value of height·width·3 interleaved bytes, written
 * channels first into `out` from `offset` (so a batch fills one buffer). The arithmetic is in float64,
 * rounded once to float32 at the end.
 */
export function normalizeToChw(pixels: Uint8Array, config: ImageProcessorConfig, out: Float32Array, offset = 0): void {
  const plane = config.height * config.width
  if (pixels.length !== plane * 3) throw new RangeError(`expected ${plane * 3} bytes (${config.width}×${config.height}×3), got ${pixels.length}`)
  if (out.length < offset + plane * 3) throw new RangeError(`the output holds ${out.length} values, ${offset + plane * 3} needed`)
  const scale = config.doRescale ? config.rescaleFactor : 1
  for (let c = 0; c < 3; c++) {
    const mean = config.doNormalize ? config.imageMean[c]! : 0
    const std = config.doNormalize ? config.imageStd[c]! : 1
    // One table per channel: 256 possible inputs, so each value is computed once.
    const table = new Float64Array(256)
    for (let v = 0; v < 256; v++) table[v] = (v * scale - mean) / std
    const base = offset + c * plane
    for (let i = 0; i < plane; i++) out[base + i] = table[pixels[i * 3 + c]!]!
  }
}
