import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import { repoRoot, tempDir } from '../../helpers/paths'

// scripts/make-icons.mjs run as `npm run icons` runs it, then every file read back by a reader written here
// from the formats' documentation, not from the script: PNGs through sharp, ICO and ICNS byte by byte.

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** Apple's PNG slots of the ICNS format and their edge in pixels. */
const ICNS_SLOT_SIZES: Record<string, number> = {
  icp4: 16,
  icp5: 32,
  icp6: 64,
  ic07: 128,
  ic08: 256,
  ic09: 512,
  ic10: 1024,
  ic11: 32,
  ic12: 64,
  ic13: 256,
  ic14: 512
}

let outDir: string
beforeAll(async () => {
  outDir = tempDir('icons')
  await promisify(execFile)(process.execPath, [join(repoRoot, 'scripts/make-icons.mjs'), '--out', outDir])
})

/** Width, height and whether the image has both see-through corners and an opaque, non-uniform body. */
async function describePng(png: Buffer): Promise<{ width: number; height: number; drawn: boolean }> {
  const image = sharp(png)
  const { width, height, channels, format } = await image.metadata()
  expect(format).toBe('png')
  expect(channels).toBe(4)
  const { data } = await image.raw().toBuffer({ resolveWithObject: true })
  const alphaAt = (x: number, y: number): number => data[(y * width! + x) * 4 + 3]!
  const centre = Math.floor(width! / 2)
  const stats = await image.stats()
  const colourSpread = Math.max(...stats.channels.slice(0, 3).map((channel) => channel.stdev))
  const drawn = alphaAt(0, 0) === 0 && alphaAt(width! - 1, height! - 1) === 0 && alphaAt(centre, centre) === 255 && colourSpread > 20
  return { width: width!, height: height!, drawn }
}

describe('npm run icons (scripts/make-icons.mjs)', () => {
  it.each([16, 24, 32, 48, 64, 128, 256, 512, 1024].map((size) => ({ size, file: `${size}x${size}.png` })))('writes png/$file for Linux, drawn at that size', async ({ size, file }) => {
    const png = await readFile(join(outDir, 'png', file))
    expect(await describePng(png)).toEqual({ width: size, height: size, drawn: true })
  })

  it('writes an ICO whose directory lists PNG images of 16 to 256 pixels, laid end to end inside the file', async () => {
    const ico = await readFile(join(outDir, 'icon.ico'))
    expect(ico.readUInt16LE(0)).toBe(0) // reserved
    expect(ico.readUInt16LE(2)).toBe(1) // 1 = icon, 2 = cursor
    const count = ico.readUInt16LE(4)
    expect(count).toBe(7)

    let expectedOffset = 6 + 16 * count
    const sizes: number[] = []
    for (let i = 0; i < count; i++) {
      const entry = 6 + 16 * i
      const width = ico.readUInt8(entry) || 256
      const height = ico.readUInt8(entry + 1) || 256
      expect(ico.readUInt8(entry + 2)).toBe(0) // no palette
      expect(ico.readUInt16LE(entry + 4)).toBe(1) // colour planes
      expect(ico.readUInt16LE(entry + 6)).toBe(32) // bits per pixel
      const length = ico.readUInt32LE(entry + 8)
      const offset = ico.readUInt32LE(entry + 12)
      expect(offset).toBe(expectedOffset)
      expect(offset + length).toBeLessThanOrEqual(ico.length)
      const image = ico.subarray(offset, offset + length)
      expect(image.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true)
      expect(await describePng(image)).toEqual({ width, height, drawn: true })
      sizes.push(width)
      expectedOffset = offset + length
    }
    expect(expectedOffset).toBe(ico.length)
    expect(sizes).toEqual([16, 24, 32, 48, 64, 128, 256])
  })

  it('writes an ICNS whose length field is the file size and whose entries are PNGs in the slots Apple names', async () => {
    const icns = await readFile(join(outDir, 'icon.icns'))
    expect(icns.toString('latin1', 0, 4)).toBe('icns')
    expect(icns.readUInt32BE(4)).toBe(icns.length)

    const types: string[] = []
    let offset = 8
    while (offset < icns.length) {
      const type = icns.toString('latin1', offset, offset + 4)
      const length = icns.readUInt32BE(offset + 4)
      expect(length).toBeGreaterThan(8)
      expect(offset + length).toBeLessThanOrEqual(icns.length)
      expect(ICNS_SLOT_SIZES, type).toHaveProperty(type)
      const image = icns.subarray(offset + 8, offset + length)
      expect(image.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true)
      const size = ICNS_SLOT_SIZES[type]!
      expect(await describePng(image)).toEqual({ width: size, height: size, drawn: true })
      types.push(type)
      offset += length
    }
    expect(offset).toBe(icns.length)
    // 16 to 512 points at 1x and 2x: what macOS looks for in the Finder, the Dock and Retina displays
    expect(types.sort()).toEqual(['ic07', 'ic08', 'ic09', 'ic10', 'ic11', 'ic12', 'ic13', 'ic14', 'icp4', 'icp5'])
  })
})
