import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DataNotUsableError, prepareImageData, reopenPreparedImages } from '../../../../src/main/engine/data'
import { tempDir } from '../../../helpers/paths'
import { imageFixture } from './helpers'

describe('prepareImageData', () => {
  it('numbers the classes, splits stratified and saves both with the run', async () => {
    const dir = tempDir('prepare-images')
    const prepared = await prepareImageData(imageFixture('digits'), dir, { validationFraction: 0.34, seed: 5 })
    expect(prepared.labels).toEqual(['0', '1', '2'])
    expect(JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8'))).toEqual({ id2label: { 0: '0', 1: '1', 2: '2' }, label2id: { 0: 0, 1: 1, 2: 2 } })
    // 3 images per class, round(0.34 · 3) = 1 of each to validation.
    expect(prepared.validation.map((e) => e.label).sort()).toEqual(['0', '1', '2'])
    expect(prepared.train).toHaveLength(6)
    const split = JSON.parse(readFileSync(join(dir, 'split.json'), 'utf8')) as { seed: number; train: { path: string; label: string }[]; validation: { path: string; label: string }[] }
    expect(split.seed).toBe(5)
    expect(new Set([...split.train, ...split.validation].map((e) => e.path)).size).toBe(9)
    // A resumed run reads the same split and classes back without decoding an image.
    const reopened = await reopenPreparedImages(dir)
    expect(reopened!.labels).toEqual(prepared.labels)
    expect(reopened!.train).toEqual(prepared.train)
    expect(reopened!.validation).toEqual(prepared.validation)
    expect(await reopenPreparedImages(tempDir('prepare-images-none'))).toBeUndefined()
    const again = await prepareImageData(imageFixture('digits'), tempDir('prepare-images-again'), { validationFraction: 0.34, seed: 5 })
    expect(again.validation.map((e) => e.path)).toEqual(prepared.validation.map((e) => e.path))
  })

  it('refuses a dataset with broken images, listing them', async () => {
    const error = await prepareImageData(imageFixture('broken'), tempDir('prepare-broken-images')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DataNotUsableError)
    const codes = (error as DataNotUsableError).report.problems.filter((p) => p.severity === 'error').map((p) => p.code)
    expect(codes).toEqual(expect.arrayContaining(['image-undecodable', 'image-unsupported-format']))
  })
})
