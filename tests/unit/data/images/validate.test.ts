import { mkdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { validateImageDataset, type DataProblem } from '../../../../src/main/engine/data'
import { tempDir } from '../../../helpers/paths'
import { imageFixture } from './helpers'

const notInfo = (problems: DataProblem[]) => problems.filter((p) => p.severity !== 'info')
const byCode = (problems: DataProblem[], code: string) => problems.filter((p) => p.code === code)

describe('validateImageDataset: a folder per class', () => {
  it('passes a clean dataset and summarises it', async () => {
    const report = await validateImageDataset(imageFixture('digits'))
    expect(report).toMatchObject({ file: imageFixture('digits'), task: 'image-classification', rows: 9, usable: true })
    expect(report.problems).toEqual([])
    expect(report.summary).toEqual({
      columns: {},
      classes: [
        { label: '0', count: 3, firstRow: 1 },
        { label: '1', count: 3, firstRow: 4 },
        { label: '2', count: 3, firstRow: 7 }
      ],
      images: { count: 9, minWidth: 28, minHeight: 28, maxWidth: 28, maxHeight: 28, formats: { png: 3, jpeg: 3, webp: 3 } },
      duplicates: { count: 0, examples: [] }
    })
  })

  it('reports every problem of a broken folder with its real file', async () => {
    const root = imageFixture('broken')
    const at = (name: string) => imageFixture('broken', name)
    const report = await validateImageDataset(root)
    expect(report.usable).toBe(false)
    expect(report.rows).toBe(11)
    const problems = notInfo(report.problems).map(({ file, code, severity, message }) => ({ file, code, severity, message }))
    expect(problems).toEqual(
      expect.arrayContaining([
        {
          file: at('0/animation.jpg'),
          code: 'image-unsupported-format',
          severity: 'error',
          message: '0/animation.jpg is a GIF image although its name ends in .jpg; images must be JPEG, PNG or WebP: convert it or remove it'
        },
        {
          file: at('0/scan.png'),
          code: 'image-unsupported-format',
          severity: 'error',
          message: '0/scan.png is a TIFF image although its name ends in .png; images must be JPEG, PNG or WebP: convert it or remove it'
        },
        {
          file: at('0/not-an-image.png'),
          code: 'image-undecodable',
          severity: 'error',
          message: '0/not-an-image.png is not an image (its content is not JPEG, PNG or WebP); remove it or replace it with the real image'
        },
        {
          file: at('0/truncated.jpg'),
          code: 'image-undecodable',
          severity: 'error',
          message: '0/truncated.jpg is damaged or incomplete and cannot be decoded; was it cut short while copying? Re-export it or remove it'
        },
        {
          file: at('0/tiny.png'),
          code: 'image-too-small',
          severity: 'warning',
          message: '0/tiny.png is only 4×4 pixels (under 16 on a side): check it is a real example and not an icon or thumbnail'
        },
        { file: at('0/copy-of-0-a.png'), code: 'duplicate-rows', severity: 'warning', message: '0/copy-of-0-a.png is the same image as 0/0-a.png' },
        {
          file: at('2/2-a.png'),
          code: 'class-single-example',
          severity: 'warning',
          message: 'class "2" has only one image (2/2-a.png); a model cannot learn it or be tested on it'
        },
        { file: at('empty'), code: 'class-folder-empty', severity: 'warning', message: 'class folder "empty" holds no images; the class will not be trained' },
        expect.objectContaining({ file: at('notes.txt'), code: 'stray-file' }),
        expect.objectContaining({ file: at('0/readme.txt'), code: 'stray-file' })
      ])
    )
    expect(problems).toHaveLength(10)
    // Only the images that can be used are counted; the tiny one can, with a warning.
    expect(report.summary.classes).toEqual([
      { label: '0', count: 4, firstRow: 1 },
      { label: '1', count: 2, firstRow: 9 },
      { label: '2', count: 1, firstRow: 11 }
    ])
    expect(report.summary.images).toEqual({ count: 7, minWidth: 4, minHeight: 4, maxWidth: 28, maxHeight: 28, formats: { png: 7 } })
    expect(report.summary.duplicates).toEqual({ count: 1, examples: [{ row: 4, sameAs: 1 }] })
  })

  it('honours minSide', async () => {
    const report = await validateImageDataset(imageFixture('digits'), { minSide: 29 })
    expect(byCode(report.problems, 'image-too-small')).toHaveLength(9)
    expect(report.usable).toBe(true)
  })

  it('reports classes unknown to training', async () => {
    const report = await validateImageDataset(imageFixture('digits'), { knownLabels: ['0', '1'] })
    expect(report.usable).toBe(false)
    expect(notInfo(report.problems)).toEqual([
      {
        file: imageFixture('digits', '2', '2-a.png'),
        code: 'label-unseen',
        severity: 'error',
        message: 'class "2" is not among the training classes (3 images, e.g. 2/2-a.png)'
      }
    ])
  })

  it('reports a folder without images', async () => {
    const dir = tempDir('image-empty')
    mkdirSync(`${dir}/cats`)
    const report = await validateImageDataset(dir)
    expect(report.usable).toBe(false)
    expect(notInfo(report.problems).map((p) => p.code)).toEqual(['class-folder-empty', 'no-records'])
    expect(byCode(report.problems, 'no-records')[0]!.message).toMatch(/no images found: put them in one sub-folder per class/)
  })
})

describe('validateImageDataset: a CSV of path,label', () => {
  it('passes the clean CSV with the same summary as the folder', async () => {
    const report = await validateImageDataset(imageFixture('digits.csv'))
    expect(report.usable).toBe(true)
    expect(notInfo(report.problems)).toEqual([])
    expect(report.summary.columns).toEqual({ path: 'path', label: 'label' })
    expect(report.summary.classes).toEqual([
      { label: '0', count: 3, firstRow: 2 },
      { label: '1', count: 3, firstRow: 5 },
      { label: '2', count: 3, firstRow: 8 }
    ])
  })

  it('reports each bad row with its row number and column', async () => {
    const csv = imageFixture('broken.csv')
    const report = await validateImageDataset(csv)
    expect(report.usable).toBe(false)
    expect(report.rows).toBe(9)
    const rows = notInfo(report.problems).map((p) => [p.row, p.field, p.code])
    expect(rows).toEqual(
      expect.arrayContaining([
        [3, 'path', 'image-missing'],
        [4, 'path', 'image-undecodable'],
        [5, 'path', 'image-missing'],
        [6, 'label', 'label-missing'],
        [7, 'path', 'image-unsupported-format'],
        [9, 'path', 'duplicate-rows']
      ])
    )
    expect(notInfo(report.problems).every((p) => p.file === csv)).toBe(true)
    expect(byCode(report.problems, 'image-unsupported-format')[0]!.message).toBe(
      'broken.csv, row 7: misc/drawing.svg is an SVG image; images must be JPEG, PNG or WebP: convert it or remove it'
    )
    expect(byCode(report.problems, 'duplicate-rows')[0]!.message).toBe('broken.csv, row 9: digits/0/0-a.png is the same image as digits/0/0-a.png (row 2)')
    expect(report.summary.duplicates).toEqual({ count: 1, examples: [{ row: 9, sameAs: 2 }] })
    expect(report.summary.images).toMatchObject({ count: 4, formats: { png: 3, jpeg: 1 } })
  })
})

describe('validateImageDataset: progress and cancelling', () => {
  it('reports progress after each image', async () => {
    const calls: [number, number][] = []
    await validateImageDataset(imageFixture('digits'), { onProgress: (done, total) => calls.push([done, total]), concurrency: 3 })
    expect(calls).toEqual(Array.from({ length: 10 }, (_, i) => [i, 9]))
  })

  it('stops between images when the signal is aborted', async () => {
    const controller = new AbortController()
    let seen = 0
    const run = validateImageDataset(imageFixture('digits'), {
      signal: controller.signal,
      onProgress: (done) => {
        seen = done
        if (done === 2) controller.abort()
      }
    })
    await expect(run).rejects.toMatchObject({ name: 'AbortError' })
    expect(seen).toBe(2)
  })
})
