import { readdir, stat } from 'node:fs/promises'
import { basename, extname, join, relative, sep } from 'node:path'
import { describeSystemError } from '../io/errors'
import { readParquetRecords } from './parquet'
import { makeProblem, place } from './problems'
import type { DataRecord, ReadOptions } from './records'

/** The splits a folder of Parquet files holds. */
export type ParquetSplit = 'train' | 'validation' | 'test'

/**
 * A Hugging Face dataset folder's Parquet files by split, in shard order, found the way `datasets` finds
 * a repository's data files when no configuration names them:
 *
 * - `data/train-00000-of-00002.parquet`, `data/validation-00000-of-00001.parquet` (`push_to_hub`),
 * - `default/train/0000.parquet` … (the Hub's Parquet conversion, refs/convert/parquet), `train/*.parquet`,
 * - `train.parquet`, `test.parquet` at the top;
 *
 * a split named by a folder on the way to the file, or by the start of its name followed by `-`, `_`,
 * `.`, a space, a digit or nothing. The names of each split are `datasets`' (train, training; validation,
 * valid, val, dev; test, testing, eval, evaluation). A folder whose files name no split is all training
 * data, as `datasets` reads it. Shards are read in name order (numbers by value).
 */
export interface ParquetSplits {
  train: string[]
  validation: string[]
  test: string[]
  /** Files that name no split while others do: not read. */
  ignored: string[]
}

const splitNames: Record<ParquetSplit, string[]> = {
  train: ['train', 'training'],
  validation: ['validation', 'valid', 'val', 'dev'],
  test: ['test', 'testing', 'eval', 'evaluation']
}

/** How deep to look for shards: `config/split/shard.parquet` is two folders down. */
const maxDepth = 4

/** The folder's Parquet files by split, or what is wrong with the folder. */
export async function parquetSplits(dir: string): Promise<ParquetSplits | string> {
  let files: string[]
  try {
    files = await findParquetFiles(dir, 0)
  } catch (error) {
    return describeSystemError(error)
  }
  if (files.length === 0) return 'a folder with no .parquet files (a text dataset folder holds Parquet shards such as data/train-00000-of-00001.parquet)'
  files.sort((a, b) => relative(dir, a).localeCompare(relative(dir, b), 'en', { numeric: true }))
  const splits: ParquetSplits = { train: [], validation: [], test: [], ignored: [] }
  for (const file of files) {
    const split = splitOf(relative(dir, file))
    if (split === undefined) splits.ignored.push(file)
    else splits[split].push(file)
  }
  if (splits.train.length + splits.validation.length + splits.test.length === 0) return { train: splits.ignored, validation: [], test: [], ignored: [] }
  return splits
}

function splitOf(path: string): ParquetSplit | undefined {
  const parts = path.split(sep)
  const name = basename(parts.pop()!, extname(path)).toLowerCase()
  for (const [split, names] of Object.entries(splitNames) as [ParquetSplit, string[]][]) {
    if (parts.some((part) => names.includes(part.toLowerCase()))) return split
  }
  for (const [split, names] of Object.entries(splitNames) as [ParquetSplit, string[]][]) {
    if (names.some((n) => name.startsWith(n) && /^([-._ 0-9]|$)/.test(name.slice(n.length)))) return split
  }
  return undefined
}

async function findParquetFiles(dir: string, depth: number): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    // .git, .cache/huggingface and the like hold no data.
    if (entry.name.startsWith('.')) continue
    const full = join(dir, entry.name)
    if (entry.isDirectory() && depth < maxDepth) out.push(...(await findParquetFiles(full, depth + 1)))
    else if (entry.isFile() && extname(entry.name).toLowerCase() === '.parquet') out.push(full)
  }
  return out
}

/** One line for a check's notes: which files are which split, and what the validation split is for. */
export function describeSplits(dir: string, splits: ParquetSplits): string {
  const list = (files: string[]) => {
    const names = files.map((file) => relative(dir, file))
    return `${files.length} file${files.length === 1 ? '' : 's'} (${names.length > 3 ? `${names.slice(0, 2).join(', ')} … ${names.at(-1)}` : names.join(', ')})`
  }
  const parts = [`${place(dir)}: a dataset folder; training split: ${list(splits.train)}`]
  if (splits.validation.length > 0) parts.push(`validation split: ${list(splits.validation)}, used as the validation data when no validation file is given (--validation), and checked when training starts`)
  else parts.push('no validation split, so training holds out part of the training split unless a validation file is given')
  if (splits.test.length > 0) parts.push(`test split: ${list(splits.test)}, not used (test splits often have no labels)`)
  if (splits.ignored.length > 0) parts.push(`not read, as they name no split: ${list(splits.ignored)}`)
  return parts.join('; ')
}

/**
 * The records of one split of a dataset folder: its shards one after another, rows numbered on across
 * them as `datasets` concatenates them (row 1 is the first shard's first row). A shard's own problems
 * (damaged, unreadable) name the shard; the split's rows name the folder.
 */
export async function* readParquetFolderRecords(dir: string, options: ReadOptions & { split?: 'train' | 'validation' }): AsyncGenerator<DataRecord> {
  const { onProblem } = options
  const split = options.split ?? 'train'
  const splits = await parquetSplits(dir)
  if (typeof splits === 'string') {
    onProblem(makeProblem(dir, 'format-unknown', 'error', `${place(dir)}: ${splits}`))
    return
  }
  const files = splits[split]
  if (files.length === 0) {
    const found = (Object.keys(splitNames) as ParquetSplit[]).filter((s) => splits[s].length > 0)
    onProblem(makeProblem(dir, 'no-records', 'error', `${place(dir)}: no ${split} split (files such as data/${split}-00000-of-00001.parquet or ${split}/0000.parquet); the folder has: ${found.join(', ')}`))
    return
  }
  const sizes: number[] = []
  for (const file of files) sizes.push(await stat(file).then((s) => s.size, () => 0))
  const totalBytes = sizes.reduce((a, b) => a + b, 0)
  let bytesBefore = 0
  let rowOffset = 0
  let columns: string[] | undefined
  for (const [i, file] of files.entries()) {
    let shardRows = 0
    for await (const record of readParquetRecords(file, {
      ...options,
      rowOffset,
      onRowCount: (count) => (shardRows = count),
      bytesBefore,
      totalBytes,
      onColumns: (own) => {
        if (columns === undefined) {
          columns = own
          options.onColumns?.(own)
          return
        }
        const missing = columns.filter((name) => !own.includes(name))
        if (missing.length > 0) {
          onProblem(makeProblem(file, 'column-missing', 'error', `${place(file)}: lacks column${missing.length === 1 ? '' : 's'} ${missing.map((m) => `"${m}"`).join(', ')} that ${basename(files[0]!)} has; the shards of a split must have the same columns`, { field: missing[0]! }))
        }
      }
    })) {
      yield record
    }
    rowOffset += shardRows
    bytesBefore += sizes[i]!
  }
}
