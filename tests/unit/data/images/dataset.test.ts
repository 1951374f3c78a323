import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { listImageDataset, type DataProblem } from '../../../../src/main/engine/data'
import { tempDir } from '../../../helpers/paths'
import { imageFixture } from './helpers'

async function list(source: string, columns?: { path?: string; label?: string }) {
  const problems: DataProblem[] = []
  const listing = await listImageDataset(source, { onProblem: (p) => problems.push(p), ...(columns && { columns }) })
  return { ...listing, problems }
}

const digitNames = ['0/0-a.png', '0/0-b.jpg', '0/0-c.webp', '1/1-a.png', '1/1-b.jpg', '1/1-c.webp', '2/2-a.png', '2/2-b.jpg', '2/2-c.webp']

describe('listImageDataset: a folder per class', () => {
  it('lists classes and images in name order, the class from the folder', async () => {
    const { entries, problems, layout } = await list(imageFixture('digits'))
    expect(layout).toBe('folder')
    expect(problems).toEqual([])
    expect(entries).toEqual(digitNames.map((name) => ({ path: imageFixture('digits', name), label: name[0] })))
  })

  it('warns about stray files and an empty class folder, and ignores hidden files', async () => {
    const { entries, problems } = await list(imageFixture('broken'))
    expect(entries.map((e) => e.path.slice(imageFixture('broken').length + 1))).toEqual([
      '0/0-a.png',
      '0/0-b.png',
      '0/animation.jpg',
      '0/copy-of-0-a.png',
      '0/not-an-image.png',
      '0/scan.png',
      '0/tiny.png',
      '0/truncated.jpg',
      '1/1-a.png',
      '1/1-b.png',
      '2/2-a.png'
    ])
    expect(problems).toEqual([
      {
        file: imageFixture('broken', '0', 'readme.txt'),
        code: 'stray-file',
        severity: 'warning',
        message: '0/readme.txt is not a .jpg, .jpeg, .png or .webp image and was left out'
      },
      {
        file: imageFixture('broken', 'empty'),
        code: 'class-folder-empty',
        severity: 'warning',
        message: 'class folder "empty" holds no images; the class will not be trained'
      },
      {
        file: imageFixture('broken', 'notes.txt'),
        code: 'stray-file',
        severity: 'warning',
        message: 'notes.txt is not in a class folder and was left out; put each image in the folder named after its class'
      }
    ])
  })

  it('reports a folder that does not exist', async () => {
    const { entries, problems } = await list(imageFixture('no-such-folder'))
    expect(entries).toEqual([])
    expect(problems).toEqual([expect.objectContaining({ code: 'file-unreadable', severity: 'error', message: 'no-such-folder: not found (ENOENT)' })])
  })
})

describe('listImageDataset: a CSV of path,label', () => {
  it('resolves paths against the CSV folder and keeps the rows', async () => {
    const { entries, problems, columns, layout } = await list(imageFixture('digits.csv'))
    expect(layout).toBe('csv')
    expect(columns).toEqual({ path: 'path', label: 'label' })
    expect(problems.filter((p) => p.severity !== 'info')).toEqual([])
    expect(entries).toEqual(digitNames.map((name, i) => ({ path: imageFixture('digits', name), label: name[0], row: i + 2 })))
  })

  it('reports missing images, empty paths and missing labels with their rows', async () => {
    const csv = imageFixture('broken.csv')
    const { entries, problems } = await list(csv)
    expect(entries.map((e) => e.row)).toEqual([2, 4, 7, 8, 9, 10])
    expect(problems.filter((p) => p.severity !== 'info')).toEqual([
      { file: csv, row: 5, field: 'path', code: 'image-missing', severity: 'error', message: 'broken.csv, row 5: no image path in column "path"' },
      { file: csv, row: 6, field: 'label', code: 'label-missing', severity: 'error', message: 'broken.csv, row 6: no label in column "label" for "digits/1/1-a.png"' },
      {
        file: csv,
        row: 3,
        field: 'path',
        code: 'image-missing',
        severity: 'error',
        message: 'broken.csv, row 3: image "digits/1/missing.png" does not exist (paths are relative to the CSV\'s folder)'
      }
    ])
  })

  it('detects other usual column names and takes absolute paths', async () => {
    const dir = tempDir('image-csv')
    const csv = join(dir, 'list.csv')
    writeFileSync(csv, `Label,Image\nthree,${imageFixture('digits/2/2-a.png')}\n`)
    const { entries, columns, problems } = await list(csv)
    expect(columns).toEqual({ path: 'Image', label: 'Label' })
    expect(entries).toEqual([{ path: imageFixture('digits/2/2-a.png'), label: 'three', row: 2 }])
    expect(problems.map((p) => p.message)).toEqual(['list.csv: using column "Image" as the image path', 'list.csv: using column "Label" as the label'])
  })

  it('names a missing column and lists the columns found', async () => {
    const dir = tempDir('image-csv')
    const csv = join(dir, 'list.csv')
    writeFileSync(csv, 'picture,label\na.png,x\n')
    const { entries, problems } = await list(csv)
    expect(entries).toEqual([])
    expect(problems.filter((p) => p.severity === 'error')).toEqual([
      {
        file: csv,
        row: 1,
        code: 'column-missing',
        severity: 'error',
        message: 'no image path column in list.csv (looked for path, image, file, filename, file_name, image_path); columns: picture, label'
      }
    ])
    const chosen = await list(csv, { path: 'picture', label: 'class' })
    expect(chosen.problems.filter((p) => p.severity === 'error').map((p) => [p.row, p.field, p.message])).toEqual([[1, 'class', 'column "class" not found in list.csv; columns: picture, label']])
  })
})
