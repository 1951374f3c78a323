import type { FileHandle } from 'node:fs/promises'
import { parquetMetadataAsync, parquetRead, parquetSchema, type AsyncBuffer, type FileMetaData, type ParquetRow } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { describeSystemError } from '../io/errors'
import { openRegularFile } from '../io/regularFile'
import { makeProblem, place } from './problems'
import type { DataRecord, ReadOptions } from './records'

export interface ParquetReadOptions extends ReadOptions {
  /** Rows before this file's first (earlier shards of its split). */
  rowOffset?: number
  /** Told the file's row count once its footer is read. */
  onRowCount?: (rows: number) => void
  /** Progress across shards: the bytes of earlier shards, and of all. */
  bytesBefore?: number
  totalBytes?: number
}

/**
 * Parquet records, read with hyparquet (pure JavaScript) and hyparquet-compressors (snappy, zstd, gzip,
 * brotli, lz4; also pure JavaScript or bundled WebAssembly): nothing native to build per platform or per
 * Electron version, and every codec the Hub and `datasets` write.
 *
 * The file is read one row group at a time through positional reads of the byte ranges hyparquet asks
 * for (the footer, then each column chunk), so memory holds the footer and one row group, whatever the
 * file's size: a Parquet writer bounds a row group (pyarrow: 1 Mi rows, `datasets`: a few thousand), and a
 * row group is the smallest unit a column chunk can be decoded in.
 *
 * Rows are numbered from 1 for the first record (Parquet has no header row; `datasets`' row i is row i + 1
 * here); `rowOffset` continues the numbering across the shards of one split. Nested values (lists, structs,
 * maps: a `messages` list of {role, content}) arrive as JSON values, 64-bit integers as numbers (as text
 * beyond 2^53), timestamps as ISO 8601 text.
 */
export async function* readParquetRecords(file: string, options: ParquetReadOptions): AsyncGenerator<DataRecord> {
  const { onProblem, signal } = options
  signal?.throwIfAborted()
  let handle: FileHandle
  let size: number
  try {
    ;({ handle, size } = await openRegularFile(file))
  } catch (error) {
    onProblem(makeProblem(file, 'file-unreadable', 'error', `${place(file)}: ${describeSystemError(error)}`))
    return
  }
  try {
    const source = fileBuffer(handle, size)
    const metadata = await readFooter(source)
    if (typeof metadata === 'string') {
      onProblem(makeProblem(file, 'file-unreadable', 'error', `${place(file)}: ${metadata}`))
      return
    }
    options.onRowCount?.(Number(metadata.num_rows))
    const columns = parquetSchema(metadata).children.map((child) => child.element.name)
    options.onColumns?.(columns)
    const bytesBefore = options.bytesBefore ?? 0
    const totalBytes = options.totalBytes ?? size
    let first = 0
    for (const [index, group] of metadata.row_groups.entries()) {
      signal?.throwIfAborted()
      const count = Number(group.num_rows)
      const rowStart = first
      first += count
      if (count === 0) continue
      const firstRow = (options.rowOffset ?? 0) + rowStart + 1
      let rows: ParquetRow[]
      try {
        rows = await readRows(source, metadata, rowStart, rowStart + count)
      } catch (error) {
        const column = await failingColumn(source, metadata, columns, rowStart, rowStart + count)
        const where = `row group ${index + 1} of ${metadata.row_groups.length} (rows ${firstRow}–${firstRow + count - 1})${column === undefined ? '' : `, column "${column}"`}`
        onProblem(makeProblem(file, 'file-unreadable', 'error', `${place(file)}: cannot read ${where}: ${describeParquetError(error)}; its rows were skipped`, { row: firstRow, ...(column !== undefined && { field: column }) }))
        continue
      }
      for (const [i, values] of rows.entries()) {
        const row = firstRow + i
        const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>
        for (const name of columns) fields[name] = jsonValue(values[name])
        yield { row, line: row, fields }
      }
      options.onProgress?.(bytesBefore + Math.min(size, groupEnd(group)), totalBytes)
    }
    options.onProgress?.(bytesBefore + size, totalBytes)
  } finally {
    await handle.close()
  }
}

/** The file through positional reads of exactly the byte ranges asked for. */
function fileBuffer(handle: FileHandle, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const length = Math.max(0, Math.min(end, size) - start)
      const bytes = new Uint8Array(length)
      let done = 0
      while (done < length) {
        const { bytesRead } = await handle.read(bytes, done, length - done, start + done)
        if (bytesRead === 0) throw new Error(`the file ends at byte ${start + done}, before the ${length} bytes at offset ${start} (truncated or changed while being read)`)
        done += bytesRead
      }
      return bytes.buffer
    }
  }
}

/** The footer, or why there is none, said for a person: a Parquet file starts and ends with "PAR1". */
async function readFooter(source: AsyncBuffer): Promise<FileMetaData | string> {
  if (source.byteLength < 12) return `not a Parquet file: ${source.byteLength} bytes, too short for one (empty or cut short)`
  try {
    const head = new Uint8Array(await source.slice(0, 4))
    const tail = new Uint8Array(await source.slice(source.byteLength - 8))
    const magic = (bytes: Uint8Array) => String.fromCharCode(...bytes) === 'PAR1'
    if (!magic(tail.subarray(4))) {
      return magic(head)
        ? 'the file is cut short: it starts as a Parquet file but does not end with the "PAR1" marker (truncated while being written or copied?)'
        : 'not a Parquet file: it neither starts nor ends with the "PAR1" marker'
    }
    const footerLength = new DataView(tail.buffer, tail.byteOffset).getUint32(0, true)
    if (footerLength + 8 > source.byteLength - 4) return `damaged: its footer claims ${footerLength} bytes, more than the file holds`
    return await parquetMetadataAsync(source)
  } catch (error) {
    return `damaged footer (file metadata): ${describeParquetError(error)}`
  }
}

async function readRows(source: AsyncBuffer, metadata: FileMetaData, rowStart: number, rowEnd: number, columns?: string[]): Promise<ParquetRow[]> {
  let rows: ParquetRow[] = []
  await parquetRead({ file: source, metadata, compressors, rowFormat: 'object', rowStart, rowEnd, ...(columns && { columns }), onComplete: (read) => (rows = read) })
  return rows
}

/** After a row group failed: the first column that fails on its own, to name it in the message. */
async function failingColumn(source: AsyncBuffer, metadata: FileMetaData, columns: string[], rowStart: number, rowEnd: number): Promise<string | undefined> {
  for (const column of columns) {
    try {
      await readRows(source, metadata, rowStart, rowEnd, [column])
    } catch {
      return column
    }
  }
  return undefined
}

/** Where a row group's bytes end: its last column chunk's end. */
function groupEnd(group: FileMetaData['row_groups'][number]): number {
  let end = 0
  for (const chunk of group.columns) {
    const meta = chunk.meta_data
    if (!meta) continue
    const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset)
    end = Math.max(end, start + Number(meta.total_compressed_size))
  }
  return end
}

function describeParquetError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.replace(/^parquet\s+/i, '')
}

/** A decoded Parquet value as the JSON value a record holds. */
function jsonValue(value: unknown): unknown {
  if (value === null || value === undefined) return null
  switch (typeof value) {
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString()
    case 'object':
      break
    default:
      return value
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  // Binary stays bytes (an image column's cells are not JSON); it is never text.
  if (value instanceof Uint8Array) return value
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return Array.from(value as ArrayLike<unknown>, jsonValue)
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) out[key] = jsonValue(inner)
  return out
}
