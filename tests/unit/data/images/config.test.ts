import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultImageProcessorConfig, loadImageProcessorConfig } from '../../../../src/main/engine/data'
import { CheckpointFormatError } from '../../../../src/main/engine/io'
import { tempDir } from '../../../helpers/paths'

const scratch = tempDir('image-config')
let count = 0

/** A checkpoint folder holding the given files (objects are written as JSON, strings as they are). */
function checkpoint(files: Record<string, unknown>): string {
  const dir = join(scratch, `checkpoint-${count++}`)
  mkdirSync(dir)
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  return dir
}

async function loadError(dir: string): Promise<CheckpointFormatError> {
  const error = await loadImageProcessorConfig(dir).then(
    () => {
      throw new Error('expected a CheckpointFormatError, but the config loaded')
    },
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(CheckpointFormatError)
  expect((error as Error).message).not.toMatch(/[\r\n]/)
  return error as CheckpointFormatError
}

describe('loadImageProcessorConfig', () => {
  it('reads a ViTImageProcessor config as transformers saves it', async () => {
    const dir = checkpoint({
      'preprocessor_config.json': {
        do_normalize: true,
        do_rescale: true,
        do_resize: true,
        image_mean: [0.5, 0.5, 0.5],
        image_processor_type: 'ViTImageProcessor',
        image_std: [0.5, 0.5, 0.5],
        resample: 2,
        rescale_factor: 0.00392156862745098,
        size: { height: 224, width: 224 }
      }
    })
    expect(await loadImageProcessorConfig(dir)).toEqual({
      doResize: true,
      height: 224,
      width: 224,
      resample: 'bilinear',
      doRescale: true,
      rescaleFactor: 0.00392156862745098,
      doNormalize: true,
      imageMean: [0.5, 0.5, 0.5],
      imageStd: [0.5, 0.5, 0.5],
      source: 'preprocessor_config.json'
    })
  })

  it('a checkpoint named by its weights file: the config is read from beside it', async () => {
    const dir = checkpoint({ 'preprocessor_config.json': { size: { height: 96, width: 128 }, image_mean: 0.5, image_std: 0.25 }, 'model.safetensors': '' })
    expect(await loadImageProcessorConfig(join(dir, 'model.safetensors'))).toMatchObject({ height: 96, width: 128, source: 'preprocessor_config.json' })
  })

  it('reads an older ViTFeatureExtractor config: size as a number, no rescale fields', async () => {
    const dir = checkpoint({
      'preprocessor_config.json': { do_normalize: true, do_resize: true, feature_extractor_type: 'ViTFeatureExtractor', image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5], resample: 2, size: 384 }
    })
    expect(await loadImageProcessorConfig(dir)).toMatchObject({ height: 384, width: 384, doRescale: true, rescaleFactor: 1 / 255 })
  })

  it('takes {shortest_edge} as a square, bicubic resampling and ImageNet statistics', async () => {
    const dir = checkpoint({
      'preprocessor_config.json': { size: { shortest_edge: 256 }, resample: 3, image_mean: [0.485, 0.456, 0.406], image_std: [0.229, 0.224, 0.225], do_normalize: false }
    })
    expect(await loadImageProcessorConfig(dir)).toMatchObject({ height: 256, width: 256, resample: 'bicubic', imageMean: [0.485, 0.456, 0.406], imageStd: [0.229, 0.224, 0.225], doNormalize: false })
  })

  it('takes one number as the mean or std of every channel, and keeps a non-square size', async () => {
    const dir = checkpoint({ 'preprocessor_config.json': { image_mean: 0.5, image_std: 0.25, size: { height: 96, width: 128 } } })
    expect(await loadImageProcessorConfig(dir)).toMatchObject({ height: 96, width: 128, imageMean: [0.5, 0.5, 0.5], imageStd: [0.25, 0.25, 0.25] })
  })

  it("falls back to config.json's image_size and ViT's defaults", async () => {
    const dir = checkpoint({ 'config.json': { model_type: 'vit', image_size: 32, patch_size: 4 } })
    expect(await loadImageProcessorConfig(dir)).toEqual({ ...defaultImageProcessorConfig, height: 32, width: 32, source: 'config.json' })
  })

  it('falls back to the defaults when the checkpoint says nothing about images', async () => {
    expect(await loadImageProcessorConfig(checkpoint({}))).toEqual(defaultImageProcessorConfig)
    expect(await loadImageProcessorConfig(checkpoint({ 'config.json': { model_type: 'vit' } }))).toEqual(defaultImageProcessorConfig)
    expect(defaultImageProcessorConfig).toMatchObject({ height: 224, width: 224, resample: 'bilinear', imageMean: [0.5, 0.5, 0.5], imageStd: [0.5, 0.5, 0.5], rescaleFactor: 1 / 255 })
  })

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['an unsupported resampling filter', { resample: 1 }, /field "resample" must be 2 \(bilinear\) or 3 \(bicubic\).*\(got 1\)/],
    ['a zero in image_std', { image_std: [0.5, 0, 0.5] }, /field "image_std" must not contain 0/],
    ['a mean for two channels', { image_mean: [0.5, 0.5] }, /field "image_mean" must be a list of 3 numbers \(red, green, blue\) \(got \[0\.5,0\.5\]\)/],
    ['a size without a width', { size: { height: 224 } }, /field "size" needs both "height" and "width"/],
    ['a size given as text', { size: '224' }, /field "size" must be a number or an object/],
    ['a fractional size', { size: { height: 224.5, width: 224 } }, /field "size" must hold positive whole numbers of pixels/],
    ['a negative rescale factor', { rescale_factor: -1 }, /field "rescale_factor" must be a positive number/],
    ['do_resize as text', { do_resize: 'yes' }, /field "do_resize" must be true or false \(got "yes"\)/],
    ['a centre crop, which is not supported', { do_center_crop: true, crop_size: { height: 224, width: 224 } }, /field "do_center_crop" is true, but cropping after the resize is not supported yet/]
  ]
  for (const [title, fields, message] of bad) {
    it(`names the file and field for ${title}`, async () => {
      const dir = checkpoint({ 'preprocessor_config.json': fields })
      const error = await loadError(dir)
      expect(error.file).toBe(join(dir, 'preprocessor_config.json'))
      expect(error.message).toContain(join(dir, 'preprocessor_config.json'))
      expect(error.message).toMatch(message)
    })
  }

  it('names preprocessor_config.json when it is not JSON', async () => {
    const dir = checkpoint({ 'preprocessor_config.json': '{"size": 224,' })
    expect((await loadError(dir)).message).toMatch(/preprocessor_config\.json: is not valid JSON/)
  })

  it("names config.json when its image_size is wrong", async () => {
    const dir = checkpoint({ 'config.json': { image_size: 0 } })
    const error = await loadError(dir)
    expect(error.file).toBe(join(dir, 'config.json'))
    expect(error.message).toMatch(/field "image_size" must hold positive whole numbers of pixels \(got 0\)/)
  })
})
