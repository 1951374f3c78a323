import { writeFileSync } from 'node:fs'
import { crc32, deflateSync } from 'node:zlib'

/**
 * Write a black PNG of any size as a 1-bit greyscale file: a 16383×16383 one is about 32 KB, which is how a
 * small upload claims a quarter of a billion pixels. Written by hand (zlib and the chunk CRCs) because
 * encoding that many pixels through an image library takes seconds and a gigabyte; only the rows'
 * 1-bit bytes (33 MB of zeros) are compressed here.
 */
export function writeBlankPng(file: string, width: number, height: number): void {
  const rowBytes = 1 + Math.ceil(width / 8) // each row: filter type 0 (none), then the packed bits
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header[8] = 1 // bit depth
  header[9] = 0 // colour type: greyscale
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const pixels = deflateSync(Buffer.alloc(rowBytes * height), { level: 9 })
  writeFileSync(file, Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]))
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'latin1')
  data.copy(out, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}
