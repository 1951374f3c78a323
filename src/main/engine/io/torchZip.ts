/**
 * The zip container `torch.save` writes (torch ≥ 1.6): entries stored uncompressed (method 0), so each
 * tensor storage is a plain byte range of the file. This reader reads only the end-of-central-directory
 * record, the central directory and, per entry used, its 30-byte local header; ZIP64 records are
 * followed where the 32-bit fields overflow. Compressed, encrypted or split archives are refused.
 */
import type { FileHandle } from 'node:fs/promises'
import { CheckpointFormatError } from './errors'
import { readExactly } from './fileRange'

const eocdSignature = 0x06054b50
const zip64LocatorSignature = 0x07064b50
const zip64EocdSignature = 0x06064b50
const centralSignature = 0x02014b50
const localSignature = 0x04034b50
const eocdBytes = 22
/** The record ends the file, after a comment of at most 65535 bytes. */
const eocdSearchBytes = eocdBytes + 0xffff
/** A central directory larger than this is not a checkpoint's (about 100 bytes per entry). */
const maxCentralDirectoryBytes = 256 << 20
const maxEntries = 4_000_000

export interface ZipEntry {
  name: string
  /** Bytes as stored (= as read: only stored entries are accepted). */
  size: number
  method: number
  flags: number
  localHeaderOffset: number
}

export class TorchZip {
  private readonly byName: ReadonlyMap<string, ZipEntry>
  private readonly dataStarts = new Map<string, number>()

  constructor(
    readonly file: string,
    private readonly handle: FileHandle,
    readonly size: number,
    readonly entries: readonly ZipEntry[],
    /** Where the central directory starts: no entry's data may run into it. */
    private readonly centralDirectoryOffset: number
  ) {
    this.byName = new Map(entries.map((e) => [e.name, e]))
  }

  entry(name: string): ZipEntry | undefined {
    return this.byName.get(name)
  }

  /** Absolute position of the first data byte of `entry`, checked to lie, with its size, inside the file. */
  async dataStart(entry: ZipEntry): Promise<number> {
    const known = this.dataStarts.get(entry.name)
    if (known !== undefined) return known
    if (entry.method !== 0) {
      throw new CheckpointFormatError(this.file, `zip entry ${entry.name} is compressed (method ${entry.method}); torch.save stores entries uncompressed: re-save it with torch.save, or convert it to safetensors`)
    }
    if ((entry.flags & 1) !== 0) throw new CheckpointFormatError(this.file, `zip entry ${entry.name} is encrypted`)
    const header = await this.read(entry.localHeaderOffset, 30, entry.name)
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength)
    if (view.getUint32(0, true) !== localSignature) throw new CheckpointFormatError(this.file, `zip entry ${entry.name}: no local header at offset ${entry.localHeaderOffset}`)
    const start = entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true)
    if (start + entry.size > this.centralDirectoryOffset) {
      throw new CheckpointFormatError(this.file, `zip entry ${entry.name}: its ${entry.size} bytes at offset ${start} run past the end of the entries (at ${this.centralDirectoryOffset})`)
    }
    this.dataStarts.set(entry.name, start)
    return start
  }

  /** `length` bytes of `entry` from `offset` within it, bounds-checked against the entry. */
  async readEntry(entry: ZipEntry, offset: number, length: number, tensor?: string): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > entry.size) {
      throw new CheckpointFormatError(this.file, `bytes ${offset}–${offset + length} lie outside zip entry ${entry.name} (${entry.size} bytes)`, tensor === undefined ? {} : { tensor })
    }
    return readExactly(this.handle, this.file, (await this.dataStart(entry)) + offset, length, tensor)
  }

  private read(position: number, length: number, what: string): Promise<Uint8Array> {
    if (position < 0 || position + length > this.size) {
      throw new CheckpointFormatError(this.file, `zip entry ${what}: offset ${position} lies outside the file (${this.size} bytes)`)
    }
    return readExactly(this.handle, this.file, position, length)
  }
}

/** The zip's directory; `handle` stays the caller's to close. */
export async function openTorchZip(file: string, handle: FileHandle, size: number): Promise<TorchZip> {
  const tailLength = Math.min(size, eocdSearchBytes)
  const tail = await readExactly(handle, file, size - tailLength, tailLength)
  const tailView = new DataView(tail.buffer, tail.byteOffset, tail.byteLength)
  let at = -1
  for (let i = tail.byteLength - eocdBytes; i >= 0; i--) {
    if (tailView.getUint32(i, true) === eocdSignature) {
      at = i
      break
    }
  }
  if (at < 0) throw new CheckpointFormatError(file, 'not a zip archive (no end-of-central-directory record): not a checkpoint torch.save wrote')
  const eocdOffset = size - tailLength + at
  const disk = tailView.getUint16(at + 4, true)
  const cdDisk = tailView.getUint16(at + 6, true)
  let count = tailView.getUint16(at + 10, true)
  let cdSize = tailView.getUint32(at + 12, true)
  let cdOffset = tailView.getUint32(at + 16, true)
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // ZIP64: a locator just before the record points at the 64-bit record.
    if (eocdOffset < 20) throw new CheckpointFormatError(file, 'zip: 32-bit directory fields overflow but there is no ZIP64 locator')
    const locator = await readExactly(handle, file, eocdOffset - 20, 20)
    const lv = new DataView(locator.buffer, locator.byteOffset, 20)
    if (lv.getUint32(0, true) !== zip64LocatorSignature) throw new CheckpointFormatError(file, 'zip: 32-bit directory fields overflow but there is no ZIP64 locator')
    const recordOffset = safeUint64(file, lv, 8, 'ZIP64 record offset')
    if (recordOffset + 56 > eocdOffset) throw new CheckpointFormatError(file, `zip: ZIP64 record offset ${recordOffset} lies outside the file`)
    const record = await readExactly(handle, file, recordOffset, 56)
    const rv = new DataView(record.buffer, record.byteOffset, 56)
    if (rv.getUint32(0, true) !== zip64EocdSignature) throw new CheckpointFormatError(file, `zip: no ZIP64 end-of-central-directory record at offset ${recordOffset}`)
    count = safeUint64(file, rv, 32, 'entry count')
    cdSize = safeUint64(file, rv, 40, 'central directory size')
    cdOffset = safeUint64(file, rv, 48, 'central directory offset')
  } else if (disk !== 0 || cdDisk !== 0) {
    throw new CheckpointFormatError(file, 'zip archive is split over several files; torch.save writes one')
  }
  if (count > maxEntries) throw new CheckpointFormatError(file, `zip lists ${count} entries, more than the ${maxEntries} a checkpoint may hold`)
  if (cdSize > maxCentralDirectoryBytes) throw new CheckpointFormatError(file, `zip central directory is ${cdSize} bytes, more than the ${maxCentralDirectoryBytes} a checkpoint's may take`)
  if (cdOffset + cdSize > size) throw new CheckpointFormatError(file, `zip central directory (${cdSize} bytes at offset ${cdOffset}) runs past the end of the file (${size} bytes)`)
  const cd = await readExactly(handle, file, cdOffset, cdSize)
  const view = new DataView(cd.buffer, cd.byteOffset, cd.byteLength)
  const decoder = new TextDecoder('utf-8', { fatal: false })
  const entries: ZipEntry[] = []
  let p = 0
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.byteLength || view.getUint32(p, true) !== centralSignature) throw new CheckpointFormatError(file, `zip central directory entry ${i} is damaged (at offset ${cdOffset + p})`)
    const flags = view.getUint16(p + 8, true)
    const method = view.getUint16(p + 10, true)
    let compressed = view.getUint32(p + 20, true)
    let size32 = view.getUint32(p + 24, true)
    const nameLength = view.getUint16(p + 28, true)
    const extraLength = view.getUint16(p + 30, true)
    const commentLength = view.getUint16(p + 32, true)
    let localHeaderOffset = view.getUint32(p + 42, true)
    const end = p + 46 + nameLength + extraLength + commentLength
    if (end > cd.byteLength) throw new CheckpointFormatError(file, `zip central directory entry ${i} runs past the directory's end`)
    const name = decoder.decode(cd.subarray(p + 46, p + 46 + nameLength))
    // ZIP64 extended information (id 1): the 64-bit values of the fields that read 0xFFFFFFFF, in order.
    let q = p + 46 + nameLength
    const extraEnd = q + extraLength
    while (q + 4 <= extraEnd) {
      const id = view.getUint16(q, true)
      const length = view.getUint16(q + 2, true)
      if (q + 4 + length > extraEnd) break
      if (id === 1) {
        let r = q + 4
        const next = (): number => {
          if (r + 8 > q + 4 + length) throw new CheckpointFormatError(file, `zip entry ${name}: ZIP64 extra field is too short`)
          const value = safeUint64(file, view, r, `zip entry ${name} size`)
          r += 8
          return value
        }
        if (size32 === 0xffffffff) size32 = next()
        if (compressed === 0xffffffff) compressed = next()
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next()
      }
      q += 4 + length
    }
    if (method === 0 && compressed !== size32) throw new CheckpointFormatError(file, `zip entry ${name} is stored but its sizes disagree (${compressed} and ${size32} bytes)`)
    if (localHeaderOffset + 30 > cdOffset) throw new CheckpointFormatError(file, `zip entry ${name}: local header offset ${localHeaderOffset} lies past the entries`)
    entries.push({ name, size: compressed, method, flags, localHeaderOffset })
    p = end
  }
  return new TorchZip(file, handle, size, entries, cdOffset)
}

function safeUint64(file: string, view: DataView, at: number, what: string): number {
  const value = view.getBigUint64(at, true)
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new CheckpointFormatError(file, `zip: ${what} ${value} is too large`)
  return Number(value)
}
