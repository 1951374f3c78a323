import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { decodeRgb, defaultImageProcessorConfig, imageBatches, ImageReadError, maxImagePixels, prepareImageData, validateImageDataset } from '../../../../src/main/engine/data'
import { tempDir } from '../../../helpers/paths'
import { writeBlankPng } from './blankPng'

const side = 16383 // the largest square under sharp's own default limit (0x3FFF × 0x3FFF)
const pixels = side * side

/** The largest resident set size seen, sampled every 5 ms while `work` runs (decoding happens off this thread). */
async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage.rss()
  let peak = before
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5)
  try {
    const result = await work()
    return { result, growth: Math.max(peak, process.memoryUsage.rss()) - before }
  } finally {
    clearInterval(timer)
  }
}

describe('images over the pixel limit', () => {
  it('writes a real PNG: the generator is read back by libvips', async () => {
    const file = join(tempDir('blank-png'), 'small.png')
    writeBlankPng(file, 21, 5)
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true })
    expect({ width: info.width, height: info.height, format: (await sharp(file).metadata()).format }).toEqual({ width: 21, height: 5, format: 'png' })
    expect(data.every((value) => value === 0)).toBe(true)
  })

  // The memory checks run before anything decodes a large image: a freed peak can stay resident.
  it('refuses to decode one for training, before reading any pixel', async () => {
    const file = join(tempDir('pixel-bomb-decode'), 'huge.png')
    writeBlankPng(file, side, side)
    const { result: error, growth } = await peakRss(() => decodeRgb(file).then(() => undefined, (e: unknown) => e))
    expect(growth).toBeLessThan(200 * 2 ** 20)
    expect(error).toBeInstanceOf(ImageReadError)
    expect(error).toMatchObject({ code: 'image-too-large', file, message: expect.stringMatching(/^huge\.png: 16383×16383 = 268402689 pixels is over the limit of \d+;/) })

    const batches = imageBatches([{ path: file, label: 'x' }], defaultImageProcessorConfig, { batchSize: 1, labelIds: new Map([['x', 0]]) })
    await expect(batches.next()).rejects.toMatchObject({ code: 'image-too-large' })
  })

  it('refuses four 32 KB PNGs of 16383×16383 from their headers, naming each, with memory bounded', async () => {
    const root = tempDir('pixel-bomb')
    for (const name of ['a/1.png', 'a/2.png', 'b/1.png', 'b/2.png']) {
      mkdirSync(join(root, name, '..'), { recursive: true })
      writeBlankPng(join(root, name), side, side)
    }
    const { result: report, growth } = await peakRss(() => validateImageDataset(root))
    // Decoded in full these take 3 GB; refused from the header, nothing like one of them is allocated.
    expect(growth, `resident set grew by ${(growth / 2 ** 20).toFixed(0)} MB`).toBeLessThan(200 * 2 ** 20)
    expect(report.usable).toBe(false)
    const tooLarge = report.problems.filter((p) => p.code === 'image-too-large')
    expect(tooLarge.map(({ file, severity, message }) => ({ file, severity, message }))).toEqual(
      ['a/1.png', 'a/2.png', 'b/1.png', 'b/2.png'].map((name) => ({
        file: join(root, name),
        severity: 'error',
        message: `${name}: ${side}×${side} = ${pixels} pixels is over the limit of ${maxImagePixels}; scale it down or remove it`
      }))
    )
    expect(report.problems.some((p) => p.code === 'image-undecodable')).toBe(false)
  })

  it('refuses one in a CSV against its row, and prepareImageData refuses the dataset', async () => {
    const root = tempDir('pixel-bomb-csv')
    writeBlankPng(join(root, 'huge.png'), side, side)
    writeBlankPng(join(root, 'small.png'), 32, 32)
    writeFileSync(join(root, 'data.csv'), 'path,label\nsmall.png,x\nhuge.png,y\n')
    const report = await validateImageDataset(join(root, 'data.csv'))
    expect(report.problems.filter((p) => p.code === 'image-too-large')).toEqual([
      {
        file: join(root, 'data.csv'),
        row: 3,
        field: 'path',
        code: 'image-too-large',
        severity: 'error',
        message: `data.csv, row 3: huge.png: ${side}×${side} = ${pixels} pixels is over the limit of ${maxImagePixels}; scale it down or remove it`
      }
    ])
    await expect(prepareImageData(join(root, 'data.csv'), join(root, 'run'))).rejects.toThrow(/huge\.png: 16383×16383 = 268402689 pixels is over the limit/)
  })

  it('still reads an image of a few megapixels', async () => {
    const file = join(tempDir('pixel-ok'), 'wide.png')
    writeBlankPng(file, 4000, 3000)
    const image = await decodeRgb(file)
    expect({ width: image.width, height: image.height, bytes: image.pixels.length }).toEqual({ width: 4000, height: 3000, bytes: 4000 * 3000 * 3 })
  })
})
