import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomically } from '../../io/atomicWrite'
import { labelNames, loadLabelMap, saveLabelMap } from '../labelMap'
import { DataNotUsableError } from '../prepare'
import type { ValidationReport } from '../report'
import { stratifiedSplit } from '../split'
import { listImageDataset, type ImageColumns, type ImageEntry } from './imageDataset'
import { validateImageDataset } from './validateImages'

export interface PrepareImageOptions {
  /** A separate validation folder or CSV; without one, `validationFraction` of the images (stratified). */
  validation?: string
  validationFraction?: number
  seed?: number
  columns?: Partial<ImageColumns>
  onProgress?: (stage: 'checking' | 'checking validation', done: number, total: number) => void
  signal?: AbortSignal
}

export interface PreparedImageData {
  report: ValidationReport
  /** Class names in id order (also in `labels.json`). */
  labels: string[]
  /** Class name → id, as imageBatches takes it. */
  labelIds: Map<string, number>
  train: ImageEntry[]
  validation: ImageEntry[]
}

/**
 * An image dataset made ready for a run in `dir`: every image checked (refused with every problem when the
 * data is unusable), the classes numbered and saved as `labels.json`, and a seeded stratified split (or
 * the given validation set) saved as `split.json` with each image's path and class, so a resumed run sees the same
 * images. Pixels are read later, batch by batch (imageBatches).
 */
export async function prepareImageData(source: string, dir: string, options: PrepareImageOptions = {}): Promise<PreparedImageData> {
  const seed = options.seed ?? 42
  const common = { ...(options.columns && { columns: options.columns }), ...(options.signal && { signal: options.signal }) }
  await mkdir(dir, { recursive: true })
  const report = await validateImageDataset(source, { ...common, onProgress: (done, total) => options.onProgress?.('checking', done, total) })
  if (!report.usable) throw new DataNotUsableError(report)
  const labels = labelNames((report.summary.classes ?? []).map((c) => c.label))
  const labelIds = new Map(labels.map((name, id) => [name, id]))
  const entries = (await listImageDataset(source, { ...common, onProblem: () => {} })).entries

  let train: ImageEntry[]
  let validation: ImageEntry[]
  if (options.validation !== undefined) {
    const checked = await validateImageDataset(options.validation, { ...common, knownLabels: labels, onProgress: (done, total) => options.onProgress?.('checking validation', done, total) })
    if (!checked.usable) throw new DataNotUsableError(checked)
    train = entries
    validation = (await listImageDataset(options.validation, { ...common, onProblem: () => {} })).entries
  } else {
    const split = stratifiedSplit(
      entries.map((entry) => entry.label),
      options.validationFraction ?? 0.1,
      seed
    )
    train = split.train.map((i) => entries[i]!)
    validation = split.validation.map((i) => entries[i]!)
  }

  await saveLabelMap(join(dir, 'labels.json'), labels)
  const splitText = `${JSON.stringify({ seed, source, train, validation }, null, 1)}\n`
  await writeFileAtomically(join(dir, 'split.json'), (handle) => writeFile(handle, splitText))
  return { report, labels, labelIds, train, validation }
}

/**
 * The split and labels of an earlier prepareImageData call in `dir`, without reading an image again (a
 * resumed run: its data fingerprint has already been checked). Undefined when anything is missing.
 */
export async function reopenPreparedImages(dir: string): Promise<Omit<PreparedImageData, 'report'> | undefined> {
  try {
    const split = JSON.parse(await readFile(join(dir, 'split.json'), 'utf8')) as { train: unknown; validation: unknown }
    const labels = await loadLabelMap(join(dir, 'labels.json'))
    const entries = (value: unknown): ImageEntry[] | undefined =>
      Array.isArray(value) && value.every((e) => typeof e === 'object' && e !== null && typeof (e as ImageEntry).path === 'string' && typeof (e as ImageEntry).label === 'string') ? (value as ImageEntry[]) : undefined
    const train = entries(split.train)
    const validation = entries(split.validation)
    if (!train || !validation) return undefined
    return { labels, labelIds: new Map(labels.map((name, id) => [name, id])), train, validation }
  } catch {
    return undefined
  }
}

