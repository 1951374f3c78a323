/**
 * How a checkpoint wants its images prepared, read from Hugging Face's `preprocessor_config.json` (the
 * fields of ViTImageProcessor, and of the older ViTFeatureExtractor that wrote `size` as a bare number).
 * A checkpoint saved without one falls back to `config.json`'s `image_size` and ViT's defaults, which is
 * what `transformers` would use for it too.
 */
import { join } from 'node:path'
import { CheckpointFormatError } from '../../io/errors'
import { readJsonObject, type JsonObject } from '../../io/jsonFile'
import { checkpointFolder } from '../checkpointFolder'
import type { ResampleFilter } from './resample'

export type RgbTriple = readonly [number, number, number]

export interface ImageProcessorConfig {
  /** Resize every image to exactly height×width (no aspect ratio kept, no crop), as ViT does. */
  doResize: boolean
  height: number
  width: number
  resample: ResampleFilter
  /** Multiply 8-bit values by `rescaleFactor` (1/255 brings them to [0, 1]). */
  doRescale: boolean
  rescaleFactor: number
  /** Then subtract `imageMean` and divide by `imageStd`, per channel (R, G, B). */
  doNormalize: boolean
  imageMean: RgbTriple
  imageStd: RgbTriple
  /** Where the settings came from, to show the user. */
  source: 'preprocessor_config.json' | 'config.json' | 'defaults'
}

/** ViTImageProcessor's defaults: 224×224, bilinear, values scaled to [0, 1] then mapped to [-1, 1]. */
export const defaultImageProcessorConfig: Readonly<ImageProcessorConfig> = Object.freeze<ImageProcessorConfig>({
  doResize: true,
  height: 224,
  width: 224,
  resample: 'bilinear',
  doRescale: true,
  rescaleFactor: 1 / 255,
  doNormalize: true,
  imageMean: [0.5, 0.5, 0.5],
  imageStd: [0.5, 0.5, 0.5],
  source: 'defaults'
})

/** PIL's resampling codes, as the config stores them; only those computed here are accepted. */
const resampleCodes: Record<number, ResampleFilter> = { 2: 'bilinear', 3: 'bicubic' }

/**
 * The image settings of the checkpoint in `checkpointDir`. A field of the wrong type or out of range is a
 * CheckpointFormatError naming the file and the field, never a silent default: a wrong mean or size
 * would train a model on inputs it was not made for.
 */
export async function loadImageProcessorConfig(checkpoint: string): Promise<ImageProcessorConfig> {
  const checkpointDir = await checkpointFolder(checkpoint)
  const processorFile = join(checkpointDir, 'preprocessor_config.json')
  const processor = await readJsonObject(processorFile, { optional: true })
  if (processor !== undefined) return parseImageProcessorConfig(processorFile, processor)
  const configFile = join(checkpointDir, 'config.json')
  const config = await readJsonObject(configFile, { optional: true })
  if (config === undefined) return { ...defaultImageProcessorConfig }
  const side = config.image_size
  if (side === undefined || side === null) return { ...defaultImageProcessorConfig }
  const { height, width } = readSize(configFile, 'image_size', side)
  return { ...defaultImageProcessorConfig, height, width, source: 'config.json' }
}

/** The settings in a parsed preprocessor_config.json; `file` names it in errors. */
export function parseImageProcessorConfig(file: string, raw: JsonObject): ImageProcessorConfig {
  const fields: Fields = new Fields(file, raw)
  const defaults = defaultImageProcessorConfig
  const config: ImageProcessorConfig = {
    ...defaults,
    doResize: fields.boolean('do_resize') ?? defaults.doResize,
    doRescale: fields.boolean('do_rescale') ?? defaults.doRescale,
    rescaleFactor: fields.positive('rescale_factor') ?? defaults.rescaleFactor,
    doNormalize: fields.boolean('do_normalize') ?? defaults.doNormalize,
    imageMean: fields.perChannel('image_mean', false) ?? defaults.imageMean,
    imageStd: fields.perChannel('image_std', true) ?? defaults.imageStd,
    source: 'preprocessor_config.json'
  }
  // Processors that crop after resizing (DeiT, CLIP, ConvNeXt's crop_pct) would be served a different
  // picture than the one they were trained on; better to say so than to get it silently wrong.
  if (fields.present('do_center_crop') === true) fields.fail('do_center_crop', 'is true, but cropping after the resize is not supported yet; only ViT-style processors (resize to the exact size) are')
  if (fields.present('crop_pct') !== undefined) fields.fail('crop_pct', 'is set, but cropping after the resize is not supported yet; only ViT-style processors (resize to the exact size) are')
  const size = fields.present('size')
  if (size !== undefined) Object.assign(config, readSize(file, 'size', size))
  const resample = fields.present('resample')
  if (resample !== undefined) {
    const filter = typeof resample === 'number' ? resampleCodes[resample] : undefined
    if (filter === undefined) fields.fail('resample', 'must be 2 (bilinear) or 3 (bicubic); other resampling filters are not supported')
    config.resample = filter
  }
  return config
}

/**
 * `size` as transformers accepts it: {height, width}; a bare number (older configs), meaning a square;
 * or {shortest_edge}. ViT has no crop step, so {shortest_edge: n} is taken as n×n, the input the model's
 * position embeddings are made for.
 */
function readSize(file: string, field: string, value: unknown): { height: number; width: number } {
  const fail = (problem: string): never => {
    throw new CheckpointFormatError(file, `field "${field}" ${problem} (got ${JSON.stringify(value)})`)
  }
  const side = (n: unknown): number => (Number.isSafeInteger(n) && (n as number) > 0 ? (n as number) : fail('must hold positive whole numbers of pixels'))
  if (typeof value === 'number') return { height: side(value), width: side(value) }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('must be a number or an object such as {"height": 224, "width": 224}')
  const size = value as JsonObject
  if (size.height !== undefined || size.width !== undefined) {
    if (size.height === undefined || size.width === undefined) fail('needs both "height" and "width"')
    return { height: side(size.height), width: side(size.width) }
  }
  if (size.shortest_edge !== undefined) return { height: side(size.shortest_edge), width: side(size.shortest_edge) }
  return fail('must have "height" and "width", or "shortest_edge"')
}

/** Typed access to the fields; null counts as absent, as it does for transformers. */
class Fields {
  constructor(
    private readonly file: string,
    private readonly raw: JsonObject
  ) {}

  fail(key: string, problem: string): never {
    throw new CheckpointFormatError(this.file, `field "${key}" ${problem} (got ${JSON.stringify(this.raw[key])})`)
  }

  present(key: string): unknown {
    const value = this.raw[key]
    return value === null ? undefined : value
  }

  boolean(key: string): boolean | undefined {
    const value = this.present(key)
    if (value !== undefined && typeof value !== 'boolean') this.fail(key, 'must be true or false')
    return value as boolean | undefined
  }

  positive(key: string): number | undefined {
    const value = this.present(key)
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0)) this.fail(key, 'must be a positive number')
    return value as number | undefined
  }

  /** One value per channel (R, G, B), or one number for all three, as transformers allows. */
  perChannel(key: string, nonZero: boolean): RgbTriple | undefined {
    const value = this.present(key)
    if (value === undefined) return undefined
    const values = typeof value === 'number' ? [value, value, value] : value
    if (!(Array.isArray(values) && values.length === 3 && values.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
      this.fail(key, 'must be a list of 3 numbers (red, green, blue)')
    }
    if (nonZero && (values as number[]).some((v) => v === 0)) this.fail(key, 'must not contain 0: every channel is divided by it')
    const [r, g, b] = values as number[]
    return [r!, g!, b!]
  }
}
