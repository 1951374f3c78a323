/**
 * The images of a classification dataset and their classes, from either of the two layouts people
 * already have: a folder with one sub-folder per class (as torchvision's ImageFolder and Hugging Face's
 * `imagefolder` read it), or a CSV of image paths and labels. Only the listing happens here; reading the
 * pixels is for validation and training.
 */
import { readdir, stat } from 'node:fs/promises'
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { describeSystemError } from '../../io/errors'
import { classLabel } from '../labels'
import { makeProblem, place, quote, type DataProblem, type ProblemSink } from '../problems'
import { readRecords } from '../records'
import { imageExtensions } from './decode'
import { mapOrdered } from './ordered'

export interface ImageEntry {
  /** Absolute path of the image. */
  path: string
  label: string
  /** CSV only: the row that lists the image (1-based; the header is row 1). */
  row?: number
}

export interface ImageColumns {
  path: string
  label: string
}

export interface ImageListing {
  /** The folder or CSV file listed. */
  source: string
  layout: 'folder' | 'csv'
  /** Folder: classes in name order, images in name order within each. CSV: the file's row order. */
  entries: ImageEntry[]
  /** CSV only: the columns used. */
  columns?: Partial<ImageColumns>
  /** CSV: records read, usable or not; folder: images found. */
  records: number
}

export interface ListImagesOptions {
  onProblem: ProblemSink
  /** CSV: columns chosen by the user; one left out is detected from the usual names. */
  columns?: Partial<ImageColumns>
  signal?: AbortSignal
}

/** Usual column names, in order of preference, matched without regard to case. */
const pathNames = ['path', 'image', 'file', 'filename', 'file_name', 'image_path']
const labelNames = ['label', 'labels', 'class', 'target']

/** Files the operating system leaves in folders; not the user's, so not worth a warning. */
const systemFiles = new Set(['thumbs.db', 'desktop.ini'])

/** List a dataset folder or CSV; problems go to `onProblem`, nothing throws on bad data. */
export async function listImageDataset(source: string, options: ListImagesOptions): Promise<ImageListing> {
  let isFolder: boolean
  try {
    isFolder = (await stat(source)).isDirectory()
  } catch (error) {
    options.onProblem(makeProblem(source, 'file-unreadable', 'error', `${place(source)}: ${describeSystemError(error)}`))
    return { source, layout: extname(source) === '' ? 'folder' : 'csv', entries: [], records: 0 }
  }
  return isFolder ? listClassFolders(source, options) : listCsv(source, options)
}

/** A name compared by code points, not locale: the same order on every machine. */
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

async function listClassFolders(root: string, options: ListImagesOptions): Promise<ImageListing> {
  const { onProblem, signal } = options
  const entries: ImageEntry[] = []
  const shown = (path: string): string => relative(root, path).split(sep).join('/')
  const children = await listFolder(root, onProblem)
  for (const child of children) {
    signal?.throwIfAborted()
    if (child.kind === 'file') {
      onProblem(
        makeProblem(child.path, 'stray-file', 'warning', `${shown(child.path)} is not in a class folder and was left out; put each image in the folder named after its class`)
      )
      continue
    }
    const label = child.name
    let images = 0
    for (const item of await listFolder(child.path, onProblem)) {
      if (item.kind === 'folder') {
        onProblem(makeProblem(item.path, 'stray-file', 'warning', `${shown(item.path)}/ is a folder inside class folder "${label}"; its contents were left out (class folders are one level deep)`))
      } else if (imageExtensions.includes(extname(item.name).toLowerCase())) {
        entries.push({ path: item.path, label })
        images++
      } else {
        onProblem(makeProblem(item.path, 'stray-file', 'warning', `${shown(item.path)} is not a .jpg, .jpeg, .png or .webp image and was left out`))
      }
    }
    if (images === 0) onProblem(makeProblem(child.path, 'class-folder-empty', 'warning', `class folder "${label}" holds no images; the class will not be trained`))
  }
  return { source: root, layout: 'folder', entries, records: entries.length }
}

interface FolderItem {
  name: string
  path: string
  kind: 'file' | 'folder'
}

/** The visible files and folders of `dir` in name order; links are followed, hidden names skipped. */
async function listFolder(dir: string, onProblem: ProblemSink): Promise<FolderItem[]> {
  let dirents
  try {
    dirents = await readdir(dir, { withFileTypes: true })
  } catch (error) {
    onProblem(makeProblem(dir, 'file-unreadable', 'error', `${place(dir)}: ${describeSystemError(error)}`))
    return []
  }
  const items: FolderItem[] = []
  for (const dirent of dirents.sort((a, b) => byName(a.name, b.name))) {
    // Hidden files (.DS_Store, .gitkeep, editors' backups) and OS thumbnails are never data.
    if (dirent.name.startsWith('.') || systemFiles.has(dirent.name.toLowerCase())) continue
    const path = join(dir, dirent.name)
    let isDirectory = dirent.isDirectory()
    if (dirent.isSymbolicLink()) {
      try {
        isDirectory = (await stat(path)).isDirectory()
      } catch {
        // A broken link is listed as a file; reading it will report it missing.
      }
    }
    items.push({ name: dirent.name, path, kind: isDirectory ? 'folder' : 'file' })
  }
  return items
}

async function listCsv(file: string, options: ListImagesOptions): Promise<ImageListing> {
  const { onProblem, signal } = options
  const base = dirname(resolve(file))
  const listed: ImageEntry[] = []
  let columns: Partial<ImageColumns> | undefined
  let count = 0
  const records = readRecords(file, {
    onProblem,
    onColumns: (found) => {
      const resolved = resolveImageColumns(file, found, options.columns)
      resolved.problems.forEach(onProblem)
      columns = resolved.columns
    },
    ...(signal && { signal })
  })
  for await (const record of records) {
    if (columns?.path === undefined || columns.label === undefined) return { source: file, layout: 'csv', entries: [], columns: columns ?? {}, records: 0 }
    count++
    const { row } = record
    const path = classLabel(record.fields[columns.path])
    const label = classLabel(record.fields[columns.label])
    if (path === undefined || path === '') {
      onProblem(makeProblem(file, 'image-missing', 'error', `${place(file, row)}: no image path in column "${columns.path}"`, { row, field: columns.path }))
      continue
    }
    if (label === undefined || label === '') {
      onProblem(makeProblem(file, 'label-missing', 'error', `${place(file, row)}: no label in column "${columns.label}" for ${quote(path)}`, { row, field: columns.label }))
      continue
    }
    listed.push({ path: isAbsolute(path) ? path : resolve(base, path), label, row })
  }

  // Existence is checked here so a missing image is reported against its row even before any decoding.
  const entries: ImageEntry[] = []
  const pathField = columns?.path
  const checks = mapOrdered(listed, 8, async (entry) => {
    try {
      return (await stat(entry.path)).isFile() ? undefined : 'is a folder, not an image file'
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : describeSystemError(error)
    }
  }, signal)
  let index = 0
  for await (const missing of checks) {
    const entry = listed[index++]!
    if (missing === undefined) entries.push(entry)
    else {
      const shown = relative(base, entry.path).split(sep).join('/')
      const where = pathField === undefined ? { row: entry.row! } : { row: entry.row!, field: pathField }
      onProblem(makeProblem(file, 'image-missing', 'error', `${place(file, entry.row)}: image ${quote(shown)} ${missing} (paths are relative to the CSV's folder)`, where))
    }
  }
  return { source: file, layout: 'csv', entries, columns: columns ?? {}, records: count }
}

/**
 * Which columns of an image CSV hold the path and the label: the user's choice, else the usual names.
 * Every missing column is reported, with the columns found, so one message is enough to fix the choice.
 */
export function resolveImageColumns(file: string, found: string[], choice: Partial<ImageColumns> = {}): { columns: Partial<ImageColumns>; problems: DataProblem[] } {
  const columns: Partial<ImageColumns> = {}
  const problems: DataProblem[] = []
  const list = found.length === 0 ? '(none)' : found.join(', ')
  for (const [role, usual, described] of [['path', pathNames, 'image path'], ['label', labelNames, 'label']] as const) {
    const chosen = choice[role]
    if (chosen !== undefined) {
      if (found.includes(chosen)) columns[role] = chosen
      else problems.push(makeProblem(file, 'column-missing', 'error', `column "${chosen}" not found in ${place(file)}; columns: ${list}`, { row: 1, field: chosen }))
      continue
    }
    const detected = usual.map((name) => found.find((column) => column.trim().toLowerCase() === name)).find((column) => column !== undefined)
    if (detected === undefined) {
      problems.push(makeProblem(file, 'column-missing', 'error', `no ${described} column in ${place(file)} (looked for ${usual.join(', ')}); columns: ${list}`, { row: 1 }))
    } else {
      columns[role] = detected
      problems.push(makeProblem(file, 'column-detected', 'info', `${place(file)}: using column "${detected}" as the ${described}`, { field: detected }))
    }
  }
  return { columns, problems }
}
