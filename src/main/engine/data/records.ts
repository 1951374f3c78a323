import { stat } from 'node:fs/promises'
import { extname } from 'node:path'
import { readCsvRecords } from './csv'
import { readJsonlRecords } from './jsonl'
import type { LineReadOptions } from './lines'
import { readParquetRecords } from './parquet'
import { readParquetFolderRecords } from './parquetFolder'
import { makeProblem, place } from './problems'
import { readTextRecords } from './text'

/** One record of a data file: a CSV row, a JSON Lines object, a Parquet row or a piece of plain text. */
export interface DataRecord {
  /** 1-based row as a spreadsheet shows it: in CSV the header is row 1 and the first record row 2. */
  row: number
  /**
   * The line where the record starts, as a text editor shows it. Equals `row` except in CSV after a record
   * whose quoted field spans lines (a spreadsheet shows that record as one row).
   */
  line: number
  /**
   * The record's values by column name, on a null-prototype object: a column is any name the file
   * gives, and one called `constructor` or `toString` must read as missing where a row lacks it.
   */
  fields: Record<string, unknown>
}

export type DataFormat = 'csv' | 'jsonl' | 'text' | 'parquet'

export interface ReadOptions extends LineReadOptions {
  /** Overrides the format the extension implies (.csv .tsv .jsonl .ndjson .txt .parquet). */
  format?: DataFormat
  /** CSV field separator; ',' for .csv, tab for .tsv. */
  delimiter?: string
  /** Plain text: one record per paragraph (lines up to a blank line) rather than per line. */
  paragraphs?: boolean
  /** Called once with the file's columns (CSV header, keys of the first JSON object, or ['text']) before its first record. */
  onColumns?: (columns: string[]) => void
  /** A folder of Parquet shards (parquetFolder.ts): the split to read; default train. */
  split?: 'train' | 'validation'
}

/**
 * The records of a data file, streamed with flat memory whatever the file's size.
 *
 * Malformed input never throws: each problem goes to `options.onProblem` (required, so none is dropped
 * unseen) and reading goes on, so one pass yields every usable record and every problem. A record with a
 * problem that leaves its fields unknown (a CSV row with the wrong number of fields, a line that is not a
 * JSON object) is reported and not yielded. Cancel with `options.signal`, or stop iterating.
 */
export async function* readRecords(file: string, options: ReadOptions): AsyncGenerator<DataRecord> {
  const format = options.format ?? formatOf(file)
  if (format === undefined && (await isFolder(file))) {
    yield* readParquetFolderRecords(file, options)
    return
  }
  switch (format) {
    case 'csv':
      yield* ownFieldsOnly(readCsvRecords(file, { ...options, delimiter: options.delimiter ?? (extname(file).toLowerCase() === '.tsv' ? '\t' : ',') }))
      return
    case 'jsonl':
      yield* ownFieldsOnly(readJsonlRecords(file, options))
      return
    case 'text':
      yield* ownFieldsOnly(readTextRecords(file, options))
      return
    case 'parquet':
      yield* readParquetRecords(file, options)
      return
    default:
      options.onProblem(
        makeProblem(file, 'format-unknown', 'error', `${place(file)}: unknown data format; use .csv, .tsv, .jsonl, .ndjson, .txt, .parquet or a folder of Parquet files`)
      )
  }
}

/** Each record's fields without Object.prototype behind them (see DataRecord.fields). */
async function* ownFieldsOnly(records: AsyncIterable<DataRecord>): AsyncGenerator<DataRecord> {
  for await (const record of records) {
    Object.setPrototypeOf(record.fields, null)
    yield record
  }
}

const formatsByExtension: Record<string, DataFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.txt': 'text',
  '.parquet': 'parquet'
}

/** The format a file's extension implies, or undefined when it implies none. */
export function formatOf(file: string): DataFormat | undefined {
  return formatsByExtension[extname(file).toLowerCase()]
}

/** A folder (of Parquet shards); anything else, missing included, is left to the readers to report. */
async function isFolder(path: string): Promise<boolean> {
  return stat(path).then((info) => info.isDirectory(), () => false)
}
