import { describe, expect, it } from 'vitest'
import { defaultImageProcessorConfig, imageBatches, ImageReadError, listImageDataset, type ImageBatch, type ImageEntry, type ImageProcessorConfig } from '../../../../src/main/engine/data'
import { difference, imageFixture, pil } from './helpers'

const config: ImageProcessorConfig = { ...defaultImageProcessorConfig, height: 16, width: 12, imageMean: [0.485, 0.456, 0.406], imageStd: [0.229, 0.224, 0.225] }
const labelIds = new Map([
  ['0', 0],
  ['1', 1],
  ['2', 2]
])

async function digits(): Promise<ImageEntry[]> {
  return (await listImageDataset(imageFixture('digits.csv'), { onProblem: () => {} })).entries
}

async function collect(batches: AsyncIterable<ImageBatch>): Promise<ImageBatch[]> {
  const all: ImageBatch[] = []
  for await (const batch of batches) all.push(batch)
  return all
}

describe('imageBatches', () => {
  it('yields full batches and a last partial one, each image as Pillow + the ViT formula gives it', async () => {
    const entries = await digits()
    const batches = await collect(imageBatches(entries, config, { batchSize: 4, labelIds }))
    expect(batches.map((b) => [b.size, b.pixels.length, b.labels.length])).toEqual([
      [4, 4 * 3 * 16 * 12, 4],
      [4, 4 * 3 * 16 * 12, 4],
      [1, 3 * 16 * 12, 1]
    ])
    expect(batches.flatMap((b) => [...b.labels])).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2])
    expect(batches.flatMap((b) => [...b.indices])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
    expect(batches.flatMap((b) => b.rows)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10])
    const values = 3 * 16 * 12
    for (const [n, entry] of entries.entries()) {
      const batch = batches[Math.floor(n / 4)]!
      const slot = n % 4
      const reference = pil(['normalize', entry.path, 12, 16, 1 / 255, config.imageMean.join(','), config.imageStd.join(',')])
      const { max } = difference(batch.pixels.subarray(slot * values, (slot + 1) * values), reference.chw!)
      expect(max, `${entry.path}: max |difference| ${max}`).toBeLessThanOrEqual(1e-6)
    }
  })

  it('follows a given order', async () => {
    const entries = await digits()
    const order = [8, 0, 4, 2, 6]
    const batches = await collect(imageBatches(entries, config, { batchSize: 2, labelIds, order, concurrency: 2 }))
    expect(batches.flatMap((b) => [...b.indices])).toEqual(order)
    expect(batches.flatMap((b) => [...b.labels])).toEqual([2, 0, 1, 0, 2])
  })

  it('refuses a class without an id before decoding anything', async () => {
    const entries = await digits()
    await expect(collect(imageBatches(entries, config, { batchSize: 4, labelIds: new Map([['0', 0]]) }))).rejects.toThrow(
      '1-a.png (row 5): class "1" has no label id; is it among the training classes?'
    )
  })

  it('stops with an error naming an image that cannot be read', async () => {
    const entries: ImageEntry[] = [
      { path: imageFixture('digits/0/0-a.png'), label: '0' },
      { path: imageFixture('broken/0/truncated.jpg'), label: '0' }
    ]
    const error = await collect(imageBatches(entries, config, { batchSize: 1, labelIds })).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ImageReadError)
    expect(error).toMatchObject({ file: imageFixture('broken/0/truncated.jpg'), code: 'image-undecodable' })
  })

  it('stops when the signal is aborted', async () => {
    const entries = await digits()
    const controller = new AbortController()
    const seen: number[] = []
    const run = async () => {
      for await (const batch of imageBatches(entries, config, { batchSize: 2, labelIds, signal: controller.signal })) {
        seen.push(batch.size)
        controller.abort()
      }
    }
    await expect(run()).rejects.toMatchObject({ name: 'AbortError' })
    expect(seen).toEqual([2])
  })
})
