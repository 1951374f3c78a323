#!/usr/bin/env node
// Rasterises the one vector mark, resources/icon.svg, into every icon the installers need (see
// electron-builder.yml): a PNG set for Linux (png/<n>x<n>.png, the names electron-builder reads sizes from),
// icon.ico for Windows and icon.icns for macOS. ICO and ICNS are plain containers of PNG images, so both are
// written here rather than by a converter that would have to be downloaded. The output is generated, not
// committed (build/icons is in .gitignore).
//   npm run icons                      writes build/icons
//   node scripts/make-icons.mjs --out <dir> [--source <svg>]
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import sharp from 'sharp'

const root = fileURLToPath(new URL('..', import.meta.url))

/** Linux icon theme sizes; 1024 is also what the other two formats are drawn from. */
export const PNG_SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024]

/** Windows shows 16–48 in lists and the taskbar, 256 in large views; electron-builder requires the 256. */
export const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256]

/**
 * ICNS entries: the OSType that names each PNG slot and its edge in pixels. The @2x slots (ic11–ic14, ic10)
 * hold the same pixels as the next size up but are what Retina displays look for.
 */
export const ICNS_ENTRIES = [
  ['icp4', 16],
  ['icp5', 32],
  ['ic11', 32], // 16@2x
  ['ic12', 64], // 32@2x
  ['ic07', 128],
  ['ic13', 256], // 128@2x
  ['ic08', 256],
  ['ic14', 512], // 256@2x
  ['ic09', 512],
  ['ic10', 1024] // 512@2x
]

const MASTER_SIZE = 1024

/** Every size rendered once from the SVG: drawn at 1024 and resampled (Lanczos) down. */
async function renderSizes(svg, sizes) {
  const master = await sharp(svg).resize(MASTER_SIZE, MASTER_SIZE).png().toBuffer()
  const pngs = new Map()
  for (const size of new Set(sizes)) {
    const image = size === MASTER_SIZE ? sharp(master) : sharp(master).resize(size, size, { kernel: 'lanczos3' })
    pngs.set(size, await image.png({ compressionLevel: 9 }).toBuffer())
  }
  return pngs
}

/**
 * ICO: a 6-byte header (reserved 0, type 1 = icon, image count), one 16-byte directory entry per image
 * (width and height as a byte where 0 means 256, palette size 0, reserved 0, 1 plane, 32 bits per pixel,
 * byte length, byte offset), then the PNG images themselves; Windows reads PNG entries since Vista.
 * All integers little-endian.
 */
export function encodeIco(images) {
  const header = Buffer.alloc(6 + 16 * images.length)
  header.writeUInt16LE(0, 0)
  header.writeUInt16LE(1, 2)
  header.writeUInt16LE(images.length, 4)
  let offset = header.length
  images.forEach(({ size, png }, i) => {
    const entry = 6 + 16 * i
    header.writeUInt8(size >= 256 ? 0 : size, entry)
    header.writeUInt8(size >= 256 ? 0 : size, entry + 1)
    header.writeUInt8(0, entry + 2)
    header.writeUInt8(0, entry + 3)
    header.writeUInt16LE(1, entry + 4)
    header.writeUInt16LE(32, entry + 6)
    header.writeUInt32LE(png.length, entry + 8)
    header.writeUInt32LE(offset, entry + 12)
    offset += png.length
  })
  return Buffer.concat([header, ...images.map(({ png }) => png)])
}

/**
 * ICNS: the magic 'icns' and the whole file's length, then per image its OSType, its length including this
 * 8-byte header, and the PNG. All integers big-endian.
 */
export function encodeIcns(entries) {
  const chunks = entries.map(({ type, png }) => {
    const head = Buffer.alloc(8)
    head.write(type, 0, 4, 'latin1')
    head.writeUInt32BE(8 + png.length, 4)
    return Buffer.concat([head, png])
  })
  const head = Buffer.alloc(8)
  head.write('icns', 0, 4, 'latin1')
  head.writeUInt32BE(8 + chunks.reduce((total, chunk) => total + chunk.length, 0), 4)
  return Buffer.concat([head, ...chunks])
}

/** Writes the whole set into outDir and returns the paths written. */
export async function makeIcons({ source = join(root, 'resources/icon.svg'), outDir = join(root, 'build/icons') } = {}) {
  const svg = await readFile(source)
  const pngs = await renderSizes(svg, [...PNG_SIZES, ...ICO_SIZES, ...ICNS_ENTRIES.map(([, size]) => size)])

  const pngDir = join(outDir, 'png')
  await mkdir(pngDir, { recursive: true })
  const written = []
  for (const size of PNG_SIZES) {
    const file = join(pngDir, `${size}x${size}.png`)
    await writeFile(file, pngs.get(size))
    written.push(file)
  }

  const ico = join(outDir, 'icon.ico')
  await writeFile(ico, encodeIco(ICO_SIZES.map((size) => ({ size, png: pngs.get(size) }))))
  const icns = join(outDir, 'icon.icns')
  await writeFile(icns, encodeIcns(ICNS_ENTRIES.map(([type, size]) => ({ type, png: pngs.get(size) }))))
  written.push(ico, icns)
  return written
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, source: { type: 'string' } } })
  const written = await makeIcons({
    source: values.source && resolve(values.source),
    outDir: values.out && resolve(values.out)
  })
  for (const file of written) console.log(file)
}
