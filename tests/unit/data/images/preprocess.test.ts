import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { decodeRgb, defaultImageProcessorConfig, ImageReadError, normalizeToChw, preprocessImage, resizeImage, type ImageProcessorConfig, type ResampleFilter } from '../../../../src/main/engine/data'
import { difference, imageFixture, pil } from './helpers'

/** Mean absolute difference allowed against Pillow, in 8-bit steps (2/255 of the range). */
const tolerance = 2

const sized = (width: number, height: number, resample: ResampleFilter = 'bilinear'): ImageProcessorConfig => ({ ...defaultImageProcessorConfig, width, height, resample })

describe('resizeImage against Pillow (what ViTImageProcessor calls)', () => {
  const cases: [string, string, number, number, ResampleFilter?][] = [
    ['enlarges an 8×8 digit to 224×224', 'digit-8x8.png', 224, 224],
    ['enlarges an 8×8 digit to 32×32', 'digit-8x8.png', 32, 32],
    ['enlarges a 28×28 digit to 32×32', 'digits/0/0-a.png', 32, 32],
    ['enlarges a 160×120 photo to 224×224', 'flower.png', 224, 224],
    ['shrinks a 500×375 photo to 224×224', 'photo.jpg', 224, 224],
    ['shrinks a 160×120 photo to 64×48', 'flower.png', 64, 48],
    ['shrinks a 500×375 photo by 13× to 37×29', 'photo.jpg', 37, 29],
    ['shrinks one side and enlarges the other', 'photo.jpg', 37, 500],
    ['shrinks a photo with bicubic (resample 3)', 'photo.jpg', 224, 224, 'bicubic'],
    ['enlarges a digit with bicubic, whose negative lobes must be clipped', 'digit-8x8.png', 32, 32, 'bicubic']
  ]
  for (const [title, name, width, height, filter = 'bilinear'] of cases) {
    it(title, async () => {
      const file = imageFixture(name)
      const ours = await resizeImage(file, sized(width, height, filter))
      const reference = pil(['resize', file, width, height, filter])
      const { mean, max } = difference(ours, reference.rgb)
      expect(mean, `mean |difference| ${mean.toFixed(4)}/255, max ${max}/255`).toBeLessThanOrEqual(tolerance)
      // The arithmetic follows Pillow's, so the bytes are in fact the same.
      expect({ mean, max }).toEqual({ mean: 0, max: 0 })
    })
  }

  it('leaves an image at the model size as it is', async () => {
    const file = imageFixture('digits/1/1-a.png')
    const ours = await resizeImage(file, sized(28, 28))
    expect(difference(ours, pil(['decode', file]).rgb).max).toBe(0)
  })
})

describe('decodeRgb', () => {
  const cases: [string, string][] = [
    ['drops the alpha of an RGBA PNG, as convert("RGB") does', 'modes/rgba.png'],
    ['turns greyscale into three equal channels', 'modes/grey.png'],
    ['turns greyscale with alpha into RGB', 'modes/grey-alpha.png'],
    ['decodes a lossy WebP', 'modes/photo.webp'],
    ['decodes a greyscale JPEG', 'digits/2/2-b.jpg'],
    ['decodes a colour JPEG photo', 'photo.jpg'],
    ['applies the EXIF orientation, as transformers.load_image does', 'modes/rotated.jpg']
  ]
  for (const [title, name] of cases) {
    it(title, async () => {
      const file = imageFixture(name)
      const ours = await decodeRgb(file)
      const reference = pil(['decode', file])
      expect([ours.width, ours.height]).toEqual([reference.width, reference.height])
      const { mean, max } = difference(ours.pixels, reference.rgb)
      expect(mean, `mean |difference| ${mean.toFixed(4)}/255, max ${max}/255`).toBeLessThanOrEqual(tolerance)
    })
  }

  it('reports the upright size of a rotated photo', async () => {
    const image = await decodeRgb(imageFixture('modes/rotated.jpg'))
    expect([image.width, image.height]).toEqual([30, 40])
  })

  it('names the file when it is not an image', async () => {
    const error = await decodeRgb(imageFixture('broken/0/not-an-image.png')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ImageReadError)
    expect(error).toMatchObject({ code: 'image-undecodable', message: expect.stringMatching(/^not-an-image\.png is not an image/) })
  })

  it('refuses a GIF whatever its name says', async () => {
    await expect(decodeRgb(imageFixture('broken/0/animation.jpg'))).rejects.toMatchObject({
      code: 'image-unsupported-format',
      message: 'animation.jpg is a GIF image although its name ends in .jpg; images must be JPEG, PNG or WebP: convert it or remove it'
    })
  })
})

describe('normalisation', () => {
  const mean = [0.485, 0.456, 0.406] as const
  const std = [0.229, 0.224, 0.225] as const
  const config: ImageProcessorConfig = { ...sized(224, 224), imageMean: mean, imageStd: std }

  it('computes (x · rescale − mean) / std channels first, given the same bytes as Pillow', () => {
    const reference = pil(['normalize', imageFixture('photo.jpg'), 224, 224, 1 / 255, mean.join(','), std.join(',')])
    const out = new Float32Array(3 * 224 * 224)
    normalizeToChw(reference.rgb, config, out)
    const { max } = difference(out, reference.chw!)
    expect(max, `max |difference| ${max}`).toBeLessThanOrEqual(1e-6)
  })

  it('writes at an offset, leaving the rest of a batch buffer alone', () => {
    const pixels = new Uint8Array(2 * 2 * 3).fill(255)
    const out = new Float32Array(2 * 12).fill(7)
    normalizeToChw(pixels, sized(2, 2), out, 12)
    expect([...out.subarray(0, 12)]).toEqual(Array(12).fill(7))
    expect([...out.subarray(12)]).toEqual(Array(12).fill(1))
  })

  it('skips rescaling and normalising when the config turns them off', () => {
    const out = new Float32Array(3)
    normalizeToChw(Uint8Array.of(10, 20, 30), { ...sized(1, 1), doRescale: false, doNormalize: false }, out)
    expect([...out]).toEqual([10, 20, 30])
  })

  it('preprocessImage matches Pillow plus the formula end to end, from a path or from bytes', async () => {
    const file = imageFixture('photo.jpg')
    const reference = pil(['normalize', file, 224, 224, 1 / 255, mean.join(','), std.join(',')])
    for (const input of [file, await readFile(file)]) {
      const ours = await preprocessImage(input, config)
      expect(ours).toHaveLength(3 * 224 * 224)
      const { mean: meanDiff, max } = difference(ours, reference.chw!)
      // 2/255 of the 8-bit range, measured after dividing by the smallest std.
      expect(meanDiff, `mean ${meanDiff}, max ${max}`).toBeLessThanOrEqual(tolerance / 255 / Math.min(...std))
      expect(max, `max ${max}`).toBeLessThanOrEqual(1e-6)
    }
  })

  it('refuses an image of the wrong size when resizing is off', async () => {
    await expect(preprocessImage(imageFixture('digit-8x8.png'), { ...sized(224, 224), doResize: false })).rejects.toThrow(
      /digit-8x8\.png is 8×8 but the model takes 224×224 .*do_resize: false/
    )
  })
})
