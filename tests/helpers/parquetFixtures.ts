import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import * as arrow from 'apache-arrow'

// Parquet fixtures written by a real, independent writer: arrow-rs's (the Rust Arrow project's) Parquet
// writer compiled to WebAssembly (parquet-wasm), fed Apache Arrow tables built with apache-arrow. The
// reader under test is hyparquet: what one writes and the other reads back must agree.
const require = createRequire(import.meta.url)
const pw = require('parquet-wasm/node') as typeof import('parquet-wasm/node')

export type Codec = 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP' | 'ZSTD' | 'BROTLI' | 'LZ4_RAW'
export const codecs: Codec[] = ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'ZSTD', 'BROTLI', 'LZ4_RAW']

export interface Message {
  role: string
  content: string
}

/** A column's values and the Parquet type they are written as; null is a null cell. */
export type ColumnSpec =
  | { type: 'string'; values: (string | null)[] }
  | { type: 'int64'; values: (number | null)[] }
  | { type: 'int32'; values: (number | null)[] }
  | { type: 'float64'; values: (number | null)[] }
  | { type: 'bool'; values: (boolean | null)[] }
  | { type: 'messages'; values: (Message[] | null)[] }
  | { type: 'struct'; values: ({ a: string; b: number } | null)[] }

const messageType = new arrow.List(new arrow.Field('item', new arrow.Struct([new arrow.Field('role', new arrow.Utf8(), true), new arrow.Field('content', new arrow.Utf8(), true)]), true))
const structType = new arrow.Struct([new arrow.Field('a', new arrow.Utf8(), true), new arrow.Field('b', new arrow.Int32(), true)])

function vector(spec: ColumnSpec): arrow.Vector {
  switch (spec.type) {
    case 'string':
      return utf8Vector(spec.values)
    case 'int64':
      return arrow.vectorFromArray(spec.values.map((v) => (v === null ? null : BigInt(v))), new arrow.Int64())
    case 'int32':
      return arrow.vectorFromArray(spec.values, new arrow.Int32())
    case 'float64':
      return arrow.vectorFromArray(spec.values, new arrow.Float64())
    case 'bool':
      return arrow.vectorFromArray(spec.values, new arrow.Bool())
    case 'messages':
      return arrow.vectorFromArray(spec.values, messageType)
    case 'struct':
      return arrow.vectorFromArray(spec.values, structType)
  }
}

/** A string column built straight from its UTF-8 bytes and offsets: arrow's builder takes seconds for 50 MB. */
function utf8Vector(values: (string | null)[]): arrow.Vector {
  const encoder = new TextEncoder()
  const encoded = values.map((v) => (v === null ? new Uint8Array() : encoder.encode(v)))
  const offsets = new Int32Array(values.length + 1)
  for (const [i, bytes] of encoded.entries()) offsets[i + 1] = offsets[i]! + bytes.length
  const data = new Uint8Array(offsets[values.length]!)
  for (const [i, bytes] of encoded.entries()) data.set(bytes, offsets[i]!)
  const nulls = values.some((v) => v === null) ? new Uint8Array(Math.ceil(values.length / 8)) : undefined
  if (nulls) values.forEach((v, i) => v !== null && (nulls[i >> 3]! |= 1 << (i & 7)))
  const nullCount = values.filter((v) => v === null).length
  return arrow.makeVector(arrow.makeData({ type: new arrow.Utf8(), length: values.length, nullCount, valueOffsets: offsets, data, ...(nulls && { nullBitmap: nulls }) }))
}

/** Parquet bytes of these columns, in row groups of `rowGroupSize` rows, compressed with `codec`. */
export function parquetBytes(columns: Record<string, ColumnSpec>, options: { codec?: Codec; rowGroupSize?: number } = {}): Uint8Array {
  const table = new arrow.Table(Object.fromEntries(Object.entries(columns).map(([name, spec]) => [name, vector(spec)])))
  const props = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression[options.codec ?? 'SNAPPY'])
    .setMaxRowGroupSize(options.rowGroupSize ?? 1024)
    .build()
  return pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props)
}

/** Write a Parquet file (making its folder) and return its path. */
export function writeParquet(file: string, columns: Record<string, ColumnSpec>, options: { codec?: Codec; rowGroupSize?: number } = {}): string {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, parquetBytes(columns, options))
  return file
}

/** Two-class sentiment rows as tinyModels' sentimentCsv writes them: text, label (pos/neg). */
export function sentimentRows(rows: number, start = 0): { text: string[]; label: string[] } {
  const fillers = ['the film was', 'we found it', 'a truly', 'honestly quite', 'the food is', 'service felt']
  const text: string[] = []
  const label: string[] = []
  for (let i = start; i < start + rows; i++) {
    const good = i % 2 === 0
    text.push(`${fillers[i % fillers.length]} ${good ? 'good' : 'bad'} ${i % 7 === 0 ? 'indeed' : ''}`)
    label.push(good ? 'pos' : 'neg')
  }
  return { text, label }
}

/**
 * A dataset folder as `datasets`' push_to_hub lays it out: data/train-00000-of-00002.parquet,
 * data/train-00001-of-00002.parquet and data/validation-00000-of-00001.parquet, with a README.md.
 */
export function hubSentimentFolder(dir: string, trainRows: number, validationRows: number, rowGroupSize = 8): string {
  const half = Math.ceil(trainRows / 2)
  const shard = (rows: number, start: number) => {
    const { text, label } = sentimentRows(rows, start)
    return { text: { type: 'string', values: text }, label: { type: 'string', values: label } } satisfies Record<string, ColumnSpec>
  }
  writeParquet(`${dir}/data/train-00000-of-00002.parquet`, shard(half, 0), { codec: 'SNAPPY', rowGroupSize })
  writeParquet(`${dir}/data/train-00001-of-00002.parquet`, shard(trainRows - half, half), { codec: 'ZSTD', rowGroupSize })
  writeParquet(`${dir}/data/validation-00000-of-00001.parquet`, shard(validationRows, 1000), { codec: 'SNAPPY', rowGroupSize })
  writeFileSync(`${dir}/README.md`, '---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*\n  - split: validation\n    path: data/validation-*\n---\n')
  return dir
}
