/**
 * The safetensors header, checked against the format's definition: an 8-byte little-endian header
 * length N, N bytes of UTF-8 JSON, then a data section that the tensors index entirely, without gaps
 * or overlaps.
 */
import { dtypeByteSize, elementCount, isDtype, type Dtype } from './dtypes'
import { CheckpointFormatError } from './errors'

/**
 * Headers above this are refused before anything is allocated: a corrupt length field must not make
 * us read gigabytes. The reference implementation draws the line at the same 100 MB.
 */
export const maxHeaderBytes = 100_000_000

export const headerLengthBytes = 8

export interface SafetensorsEntry {
  name: string
  dtype: Dtype
  shape: number[]
  /** [begin, end) relative to the start of the data section. */
  dataOffsets: [number, number]
}

export interface SafetensorsHeader {
  /** Sorted by offset: the order of the data in the file. */
  entries: SafetensorsEntry[]
  metadata: Record<string, string>
  /** Byte position of the data section (8 + N). */
  dataStart: number
}

/**
 * Header length from the first 8 bytes, checked against the file size and the 100 MB limit.
 * Returns the data section's start.
 */
export function checkHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize === 0) throw new CheckpointFormatError(file, 'file is empty, not a safetensors file')
  if (fileSize < headerLengthBytes) {
    throw new CheckpointFormatError(file, `file is ${fileSize} bytes, too short for a safetensors file (it starts with an 8-byte header length)`)
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset, headerLengthBytes).getBigUint64(0, true)
  if (length > BigInt(maxHeaderBytes)) {
    throw new CheckpointFormatError(file, `header length ${length} bytes exceeds the ${maxHeaderBytes}-byte limit (not a safetensors file, or corrupt)`)
  }
  const headerBytes = Number(length)
  if (headerBytes > fileSize - headerLengthBytes) {
    throw new CheckpointFormatError(file, `header length ${headerBytes} bytes is larger than the ${fileSize - headerLengthBytes} bytes after the length field (truncated or not a safetensors file)`)
  }
  return headerLengthBytes + headerBytes
}

/** Parse and validate the JSON header; `dataSize` is the number of bytes after it in the file. */
export function parseHeader(file: string, json: Uint8Array, dataStart: number, dataSize: number): SafetensorsHeader {
  const document = parseJsonObject(file, json)
  let metadata: Record<string, string> = {}
  const entries: SafetensorsEntry[] = []
  for (const [name, value] of Object.entries(document)) {
    if (name === '__metadata__') metadata = parseMetadata(file, value)
    else entries.push(parseEntry(file, name, value, dataSize))
  }
  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1])
  checkCoverage(file, entries, dataSize)
  return { entries, metadata, dataStart }
}

function parseJsonObject(file: string, json: Uint8Array): Record<string, unknown> {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json)
  } catch {
    throw new CheckpointFormatError(file, 'header is not valid UTF-8 (not a safetensors file, or corrupt)')
  }
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    throw new CheckpointFormatError(file, `header is not valid JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new CheckpointFormatError(file, 'header is JSON but not an object of tensors')
  }
  return document as Record<string, unknown>
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  // The reference reader accepts a missing or null __metadata__; anything else must map strings to strings.
  if (value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new CheckpointFormatError(file, '__metadata__ must be an object of string values')
  }
  const metadata: Record<string, string> = {}
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw new CheckpointFormatError(file, `__metadata__ entry ${JSON.stringify(key)} is ${describeJson(item)}, but metadata values must be strings`)
    }
    metadata[key] = item
  }
  return metadata
}

function parseEntry(file: string, name: string, value: unknown, dataSize: number): SafetensorsEntry {
  const fail = (problem: string): never => {
    throw new CheckpointFormatError(file, problem, { tensor: name })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`header entry is ${describeJson(value)}, not an object`)
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>
  if (!isDtype(dtype)) fail(`unknown dtype ${JSON.stringify(dtype) ?? 'undefined'} (known: ${Object.keys(dtypeByteSize).join(', ')})`)
  const knownDtype = dtype as Dtype
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    fail(`shape ${JSON.stringify(shape) ?? 'undefined'} must be a list of non-negative integers`)
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
    fail(`data_offsets ${JSON.stringify(offsets) ?? 'undefined'} must be [begin, end] with non-negative integers`)
  }
  const [begin, end] = offsets as [number, number]
  if (begin > end) fail(`data_offsets [${begin}, ${end}] end before they begin`)
  if (end > dataSize) {
    fail(`data_offsets [${begin}, ${end}] run past the end of the data section (${dataSize} bytes): the file is truncated or the header is wrong`)
  }
  const dims = shape as number[]
  const expected = elementCount(dims) * dtypeByteSize[knownDtype]
  if (expected !== end - begin) {
    fail(`shape [${dims.join(', ')}] of ${knownDtype} needs ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`)
  }
  return { name, dtype: knownDtype, shape: [...dims], dataOffsets: [begin, end] }
}

/** The format requires the data section to be indexed entirely: no gaps, no overlaps, nothing after. */
function checkCoverage(file: string, entries: readonly SafetensorsEntry[], dataSize: number): void {
  let cursor = 0
  let previous: SafetensorsEntry | undefined
  for (const entry of entries) {
    const [begin, end] = entry.dataOffsets
    if (begin < cursor) {
      throw new CheckpointFormatError(file, `data_offsets [${begin}, ${end}] overlap tensor ${JSON.stringify(previous!.name)} [${previous!.dataOffsets.join(', ')}]`, { tensor: entry.name })
    }
    if (begin > cursor) {
      throw new CheckpointFormatError(file, `data_offsets [${begin}, ${end}] leave bytes [${cursor}, ${begin}) of the data section unused (the format allows no gaps)`, { tensor: entry.name })
    }
    cursor = end
    previous = entry
  }
  if (cursor !== dataSize) {
    throw new CheckpointFormatError(file, `tensors index ${cursor} bytes but the data section holds ${dataSize} (trailing bytes after the last tensor)`)
  }
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function describeJson(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`
}
