/**
 * Reading image files into RGB pixels with sharp (libvips). Every failure is an ImageReadError whose
 * message names the image and says what to do, and whose `code` is the problem code a validation report
 * uses for it, so training and validation describe a bad file in the same words.
 */
import { basename, extname } from 'node:path'
import sharp, { type Metadata } from 'sharp'
import { describeSystemError } from '../../io/errors'
import { readRegularFile } from '../../io/regularFile'
import type { DataProblemCode } from '../problems'

/** The container formats read here: those Hugging Face datasets of photos and scans are made of. */
export type ImageFormat = 'jpeg' | 'png' | 'webp'
export const supportedFormats: readonly ImageFormat[] = ['jpeg', 'png', 'webp']

/** File name endings taken as images when listing a folder (compared without regard to case). */
export const imageExtensions: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp']

export type ImageReadProblem = Extract<DataProblemCode, 'image-missing' | 'file-unreadable' | 'image-undecodable' | 'image-unsupported-format' | 'image-too-large'>

/**
 * The most pixels an image may have: Pillow's MAX_IMAGE_PIXELS (1 GiB / 4 / 3), above which the library
 * Hugging Face training scripts read images with starts calling a file a decompression bomb. A PNG of
 * zeros compresses about 1000:1, so a 32 KB file can claim 16383×16383 pixels and decode to 0.8 GB; the
 * limit is checked against the header, before any pixel is decoded, so four decodes at once stay under
 * about 1 GB of pixels (256 MiB each as RGB).
 */
export const maxImagePixels = 89_478_485

/** sharp refuses on its own to decode more than this, should a caller skip the header check. */
const decodeLimits = { limitInputPixels: maxImagePixels }

export class ImageReadError extends Error {
  override name = 'ImageReadError'

  constructor(
    readonly file: string,
    readonly code: ImageReadProblem,
    message: string,
    options?: { cause?: unknown }
  ) {
    super(message.replace(/\s*[\r\n]+\s*/g, ' '), options)
  }
}

/** Size as the model sees it: after the EXIF orientation is applied (a portrait phone photo is taller than wide). */
export interface ImageHeader {
  format: ImageFormat
  width: number
  height: number
}

export interface RgbImage {
  /** Interleaved R, G, B bytes, rows top to bottom: height·width·3 values. */
  pixels: Uint8Array
  width: number
  height: number
  format: ImageFormat
}

/** The bytes of an image file; a missing or unreadable file is an ImageReadError. `name` is how messages call it. */
export async function readImageBytes(file: string, name = basename(file)): Promise<Buffer> {
  try {
    // A regular file only: a FIFO would be waited on forever.
    return await readRegularFile(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new ImageReadError(file, 'image-missing', `${name}: no such file`, { cause: error })
    if (code === 'EISDIR') throw new ImageReadError(file, 'image-missing', `${name} is a folder, not an image file`, { cause: error })
    throw new ImageReadError(file, 'file-unreadable', `${name} cannot be read: ${describeSystemError(error)}`, { cause: error })
  }
}

/**
 * Format and size from the header alone (no pixels decoded). A file that is no image, an image in a
 * format other than JPEG, PNG or WebP whatever its name says, or one of more than maxImagePixels pixels,
 * is an ImageReadError.
 */
export async function readImageHeader(bytes: Uint8Array, file: string, name = basename(file)): Promise<ImageHeader> {
  if (bytes.length === 0) throw new ImageReadError(file, 'image-undecodable', `${name} is empty (0 bytes); re-copy it or remove it`)
  let metadata: Metadata
  try {
    metadata = await sharp(bytes).metadata()
  } catch (error) {
    throw undecodable(file, name, error, bytes)
  }
  const format = metadata.format as string
  if (!(supportedFormats as readonly string[]).includes(format)) {
    const ext = extname(file).toLowerCase()
    // Only worth saying when the name claims a format we read (a GIF renamed .jpg), not for a plain .svg.
    const named = imageExtensions.includes(ext) ? ` although its name ends in ${ext}` : ''
    throw new ImageReadError(
      file,
      'image-unsupported-format',
      `${name} is ${formatName(format)} image${named}; images must be JPEG, PNG or WebP: convert it or remove it`
    )
  }
  // Orientations 5 to 8 turn the picture a quarter turn, swapping its sides.
  const turned = metadata.orientation !== undefined && metadata.orientation >= 5
  const { width, height } = metadata
  const pixels = width * height
  if (pixels > maxImagePixels) {
    throw new ImageReadError(file, 'image-too-large', `${name}: ${width}×${height} = ${pixels} pixels is over the limit of ${maxImagePixels}; scale it down or remove it`)
  }
  return { format: format as ImageFormat, width: turned ? height : width, height: turned ? width : height }
}

/**
 * Decode every pixel without keeping them, so a file cut short or corrupt after a valid header is found
 * now rather than in the middle of training. Measured on a 4000×3000 photo (one libvips thread): a full
 * decode takes 83 ms as JPEG, 480 ms as WebP and 195 ms as PNG, `stats()` 580–990 ms; decoding to a
 * thumbnail lets libjpeg and libwebp decode at reduced scale (22 ms and 100 ms) and still reads, and
 * checks, all of the data. PNG has no reduced-scale decode, so it is decoded in full.
 */
export async function checkImageDecodes(bytes: Uint8Array, header: ImageHeader, file: string, name = basename(file)): Promise<void> {
  try {
    const image = sharp(bytes, decodeLimits)
    if (header.format !== 'png') image.resize(64, 64, { fit: 'inside', withoutEnlargement: true })
    await image.raw().toBuffer()
  } catch (error) {
    throw undecodable(file, name, error)
  }
}

/**
 * An image as 8-bit RGB, upright. Alpha is dropped, not blended: that is what PIL's `convert('RGB')`
 * does, which Hugging Face training scripts apply to every image, so a model sees the same colours
 * under transparent pixels here as there. Greyscale becomes three equal channels; a 16-bit PNG is
 * scaled to 8 bits (PIL would clip it instead). The EXIF orientation is applied, as transformers'
 * `load_image` does.
 */
export async function decodeRgb(input: string | Uint8Array, name?: string): Promise<RgbImage> {
  const file = typeof input === 'string' ? input : (name ?? 'image')
  const label = name ?? basename(file)
  const bytes = typeof input === 'string' ? await readImageBytes(input, label) : input
  const header = await readImageHeader(bytes, file, label)
  try {
    const { data, info } = await sharp(bytes, decodeLimits).autoOrient().removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true })
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels instead of 3`)
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, format: header.format }
  } catch (error) {
    throw undecodable(file, label, error)
  }
}

function undecodable(file: string, name: string, error: unknown, bytes?: Uint8Array): ImageReadError {
  if (bytes !== undefined && !hasImageSignature(bytes)) {
    return new ImageReadError(file, 'image-undecodable', `${name} is not an image (its content is not JPEG, PNG or WebP); remove it or replace it with the real image`, { cause: error })
  }
  // The decoder's own words stay in `cause` only: with several images decoding at once libvips sometimes
  // reports a generic "Warning treated as error" or "Unknown error" instead, and a report should read the
  // same from one run to the next.
  return new ImageReadError(file, 'image-undecodable', `${name} is damaged or incomplete and cannot be decoded; was it cut short while copying? Re-export it or remove it`, { cause: error })
}

/** Whether the bytes start like a JPEG, PNG or WebP file: told from a file that is no image at all. */
function hasImageSignature(bytes: Uint8Array): boolean {
  const starts = (offset: number, ...values: number[]): boolean => values.every((value, i) => bytes[offset + i] === value)
  const jpeg = starts(0, 0xff, 0xd8, 0xff)
  const png = starts(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)
  const webp = starts(0, 0x52, 0x49, 0x46, 0x46) && starts(8, 0x57, 0x45, 0x42, 0x50) // "RIFF" … "WEBP"
  return jpeg || png || webp
}

const formatNames: Record<string, string> = {
  gif: 'a GIF',
  tiff: 'a TIFF',
  svg: 'an SVG',
  heif: 'a HEIF/AVIF',
  jp2k: 'a JPEG 2000',
  jxl: 'a JPEG XL',
  pdf: 'a PDF',
  raw: 'a raw',
  magick: 'an ImageMagick-format',
  openslide: 'a slide-scanner',
  fits: 'a FITS',
  ppm: 'a PPM',
  exr: 'an OpenEXR',
  rad: 'a Radiance HDR',
  vips: 'a libvips',
  mat: 'a MATLAB'
}

function formatName(format: string): string {
  return formatNames[format] ?? `a ${format.toUpperCase()}`
}
