import { createHash } from 'node:crypto'
import { basename, dirname, relative, resolve, sep } from 'node:path'
import { DuplicateFinder } from '../duplicates'
import { ClassTally, maxClasses } from '../labels'
import { ProblemLog } from '../problemLog'
import { makeProblem, place, quote, type DataProblem, type DataProblemCode, type Severity } from '../problems'
import type { ImageSummary, ValidationReport, ValidationSummary } from '../report'
import { checkImageDecodes, ImageReadError, readImageBytes, readImageHeader, type ImageHeader } from './decode'
import { listImageDataset, type ImageColumns, type ImageEntry } from './imageDataset'
import { mapOrdered } from './ordered'

export interface ValidateImagesOptions {
  /** CSV: the path and label columns; one left out is detected from the usual names. */
  columns?: Partial<ImageColumns>
  /** Labels seen in training: a validation image whose class is outside them is an error. */
  knownLabels?: Iterable<string>
  /**
   * Images with a side shorter than this many pixels are warned about (default 16). Below 16 px there is
   * hardly anything left to learn once the image is stretched to 224 — such files are usually icons,
   * thumbnails or tracking pixels that slipped in — while the smallest common datasets (MNIST 28 px,
   * CIFAR 32 px) stay clear of the warning.
   */
  minSide?: number
  /** Images read at once (default 4): decoding runs on libuv's thread pool, whose default size is 4. */
  concurrency?: number
  /** Problems kept per code (default 100); the report says how many more there were. */
  maxProblemsPerCode?: number
  /** Called after each image. */
  onProgress?: (done: number, total: number) => void
  signal?: AbortSignal
}

export const defaultMinSide = 16

/** What one image turned out to be: usable with its header, or the problem that keeps it out. */
type Checked = { ok: true; header: ImageHeader; hash: string } | { ok: false; error: ImageReadError }

/**
 * Check an image classification dataset (a folder of class folders, or a CSV of path,label) and report
 * every problem: images missing, not decodable, in an unsupported format or tiny; empty class folders and
 * stray files; classes with one image or unknown to training; the same image twice. Every image is read
 * once and all of its data decoded (at reduced scale where the format allows: see checkImageDecodes), so a
 * file cut short is found here and not in the middle of training.
 */
export async function validateImageDataset(source: string, options: ValidateImagesOptions = {}): Promise<ValidationReport> {
  const log = new ProblemLog(options.maxProblemsPerCode)
  const minSide = options.minSide ?? defaultMinSide
  const known = options.knownLabels === undefined ? undefined : new Set(options.knownLabels)
  const listing = await listImageDataset(source, { onProblem: log.add, ...(options.columns && { columns: options.columns }), ...(options.signal && { signal: options.signal }) })
  const { entries } = listing
  const isCsv = listing.layout === 'csv'
  const root = isCsv ? dirname(resolve(source)) : source
  const shown = (entry: ImageEntry): string => relative(root, entry.path).split(sep).join('/')
  const pathField = listing.columns?.path
  const labelField = listing.columns?.label
  /** An image's problem: against its CSV row when there is one, else against the image file itself. */
  const problemAt = (entry: ImageEntry, field: string | undefined, code: DataProblemCode, severity: Severity, message: string): DataProblem => {
    if (entry.row === undefined) return makeProblem(entry.path, code, severity, message)
    return makeProblem(source, code, severity, `${place(source, entry.row)}: ${message}`, { row: entry.row, ...(field !== undefined && { field }) })
  }

  const classes = new ClassTally()
  const duplicates = new DuplicateFinder()
  const images = new ImageTally()
  const unseen = new Map<string, { entry: ImageEntry; count: number }>()
  /**
   * Each usable image by its row: the CSV row, or for a folder the image's 1-based position in the
   * listing (classes in name order, images in name order), which is what `firstRow` and the duplicate
   * examples of the summary then mean. Messages name the files themselves.
   */
  const byRow = new Map<number, ImageEntry>()
  let done = 0
  options.onProgress?.(0, entries.length)

  const checked = mapOrdered(entries, options.concurrency ?? 4, (entry) => checkImage(entry, shown(entry)), options.signal)
  for await (const result of checked) {
    const entry = entries[done]!
    const row = entry.row ?? done + 1
    done++
    options.onProgress?.(done, entries.length)
    if (!result.ok) {
      log.add(problemAt(entry, pathField, result.error.code, 'error', result.error.message))
      continue
    }
    const { header } = result
    images.add(header)
    if (Math.min(header.width, header.height) < minSide) {
      log.add(
        problemAt(entry, pathField, 'image-too-small', 'warning', `${shown(entry)} is only ${header.width}×${header.height} pixels (under ${minSide} on a side): check it is a real example and not an icon or thumbnail`)
      )
    }
    classes.add(entry.label, row)
    byRow.set(row, entry)
    if (known && !known.has(entry.label)) {
      const seen = unseen.get(entry.label)
      if (seen) seen.count++
      else unseen.set(entry.label, { entry, count: 1 })
    }
    const sameAs = duplicates.add(row, [result.hash])
    if (sameAs !== undefined) {
      const first = byRow.get(sameAs)!
      const labels = first.label === entry.label ? '' : `, but labelled ${quote(entry.label)} here and ${quote(first.label)} there`
      log.add(problemAt(entry, pathField, 'duplicate-rows', 'warning', `${shown(entry)} is the same image as ${shown(first)}${first.row === undefined ? '' : ` (row ${first.row})`}${labels}`))
    }
  }

  const classCounts = classes.counts()
  if (images.count === 0 && !log.hasErrors) {
    const what = isCsv ? 'no images listed' : 'no images found: put them in one sub-folder per class (.jpg, .jpeg, .png or .webp)'
    log.add(makeProblem(source, 'no-records', 'error', `${place(source)}: ${what}`))
  } else if (images.count === 0) {
    log.add(makeProblem(source, 'no-records', 'error', `${place(source)}: none of the ${entries.length} images can be used; see the problems above`))
  }
  for (const { label, count, firstRow } of classCounts) {
    if (count !== 1) continue
    const entry = byRow.get(firstRow)!
    log.add(problemAt(entry, labelField, 'class-single-example', 'warning', `class ${quote(label)} has only one image (${shown(entry)}); a model cannot learn it or be tested on it`))
  }
  if (classCounts.length === 1 && images.count > 1) {
    log.add(makeProblem(source, 'single-class', 'warning', `${place(source)}: every image is in class ${quote(classCounts[0]!.label)}; a classifier needs at least two classes`, labelField === undefined ? {} : { field: labelField }))
  }
  if (classes.overflowed) {
    log.add(makeProblem(source, 'too-many-classes', 'warning', `${place(source)}: more than ${maxClasses} different classes; is ${isCsv ? `"${labelField}" the label column` : 'this the folder of class folders'}?`))
  }
  for (const [label, { entry, count }] of unseen) {
    log.add(problemAt(entry, labelField, 'label-unseen', 'error', `class ${quote(label)} is not among the training classes (${count} image${count === 1 ? '' : 's'}, e.g. ${shown(entry)})`))
  }

  const summary: ValidationSummary = { columns: isCsv ? { ...listing.columns } : {}, classes: classCounts, images: images.summary(), duplicates: duplicates.summary() }
  return { file: source, task: 'image-classification', rows: listing.records, problems: log.finish(source), summary, usable: !log.hasErrors }
}

/** Read, hash, check the header and decode one image; its problem, if any, is returned, not thrown. */
async function checkImage(entry: ImageEntry, name: string): Promise<Checked> {
  try {
    const bytes = await readImageBytes(entry.path, name)
    const header = await readImageHeader(bytes, entry.path, name)
    await checkImageDecodes(bytes, header, entry.path, name)
    // The file's bytes, not its pixels: an exact copy is what a dataset assembled twice contains.
    return { ok: true, header, hash: createHash('sha256').update(bytes).digest('hex') }
  } catch (error) {
    if (error instanceof ImageReadError) return { ok: false, error }
    return { ok: false, error: new ImageReadError(entry.path, 'image-undecodable', `${basename(entry.path)}: ${String(error)}`, { cause: error }) }
  }
}

/** Sizes (as the model sees them, upright) and formats of the usable images. */
class ImageTally {
  count = 0
  private minWidth = Infinity
  private minHeight = Infinity
  private maxWidth = 0
  private maxHeight = 0
  private readonly formats: Record<string, number> = {}

  add({ width, height, format }: ImageHeader): void {
    this.count++
    this.minWidth = Math.min(this.minWidth, width)
    this.minHeight = Math.min(this.minHeight, height)
    this.maxWidth = Math.max(this.maxWidth, width)
    this.maxHeight = Math.max(this.maxHeight, height)
    this.formats[format] = (this.formats[format] ?? 0) + 1
  }

  summary(): ImageSummary {
    const none = this.count === 0
    return {
      count: this.count,
      minWidth: none ? 0 : this.minWidth,
      minHeight: none ? 0 : this.minHeight,
      maxWidth: this.maxWidth,
      maxHeight: this.maxHeight,
      formats: { ...this.formats }
    }
  }
}
