/**
 * TensorFlow.js weights: `model.json` (layers or graph model) lists weight groups; each group's
 * weights lie back to back across the group's shard files, in order, so one weight may straddle two
 * files. Quantised weights (uint8/uint16 affine, float16) are dequantised on read the way tfjs does.
 */
import { dirname, resolve } from 'node:path'
import { decodeToFloat64, elementCount, float16BitsToNumber, type Dtype } from './dtypes'
import { describeUseGraph } from './useGraph'
import { ConcatenatedFiles } from './concatenatedFiles'
import { CheckpointFormatError } from './errors'
import type { ModelDescription } from './hfConfig'
import {
  describeModelJson,
  parseManifest,
  readableDtypes,
  readModelJson,
  storedByteLength,
  storedBytes,
  unreadableReason,
  type ManifestWeight
} from './tfjsManifest'
import type { TensorInfo, TensorSource, TfjsQuantization, UnreadableTensor } from './tensorSource'

interface Located {
  info: TensorInfo
  group: ConcatenatedFiles
  /** Position in the group's concatenated bytes. */
  position: number
}

export interface TfjsOpenOptions {
  source?: string
  config?: ModelDescription
}

export class TfjsWeights implements TensorSource {
  readonly format = 'tfjs' as const
  private closed = false

  constructor(
    readonly path: string,
    readonly tensors: readonly TensorInfo[],
    readonly unreadable: readonly UnreadableTensor[],
    readonly metadata: Record<string, string>,
    private readonly located: ReadonlyMap<string, Located>,
    private readonly groups: readonly ConcatenatedFiles[],
    readonly source: string = path,
    readonly config?: ModelDescription
  ) {}

  private find(name: string): Located {
    const found = this.located.get(name)
    if (found) return found
    const skipped = this.unreadable.find((t) => t.name === name)
    throw new CheckpointFormatError(this.path, skipped ? `cannot be read: ${skipped.reason}` : 'no such weight in this model', { tensor: name })
  }

  private async stored(name: string): Promise<{ bytes: Uint8Array; info: TensorInfo }> {
    const { info, group, position } = this.find(name)
    if (this.closed) throw new CheckpointFormatError(this.path, 'model was closed before the weight was read', { tensor: name })
    return { bytes: await group.read(position, info.byteLength, name), info }
  }

  async readFloat64(name: string): Promise<Float64Array> {
    const { bytes, info } = await this.stored(name)
    return info.quantization ? dequantize(bytes, info.quantization, info.dtype) : decodeToFloat64(bytes, info.dtype)
  }

  async readRaw(name: string): Promise<Uint8Array> {
    const { bytes, info } = await this.stored(name)
    if (!info.quantization) return bytes
    const values = dequantize(bytes, info.quantization, info.dtype)
    const typed = info.dtype === 'I32' ? Int32Array.from(values) : Float32Array.from(values)
    return new Uint8Array(typed.buffer)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all(this.groups.map((group) => group.close()))
  }
}

/**
 * tfjs computes q·scale + min in float64 and stores it in a Float32Array (int32 weights: rounded to
 * an integer); doing the same keeps our values bit-identical to what tfjs would load.
 */
function dequantize(bytes: Uint8Array, quantization: TfjsQuantization, dtype: Dtype): Float64Array {
  const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const count = bytes.byteLength / storedBytes[quantization.dtype]!
  const out = new Float64Array(count)
  const { scale = 1, min = 0 } = quantization
  for (let i = 0; i < count; i++) {
    if (quantization.dtype === 'float16') out[i] = float16BitsToNumber(stored.getUint16(i * 2, true))
    else {
      const q = quantization.dtype === 'uint8' ? stored.getUint8(i) : stored.getUint16(i * 2, true)
      out[i] = dtype === 'I32' ? Math.round(q * scale + min) : Math.fround(q * scale + min)
    }
  }
  return out
}

export async function openTfjsModel(modelJson: string, options: TfjsOpenOptions = {}): Promise<TfjsWeights> {
  const document = await readModelJson(modelJson)
  const groups = parseManifest(modelJson, document.weightsManifest)
  const folder = dirname(modelJson)
  const opened: ConcatenatedFiles[] = []
  try {
    const tensors: TensorInfo[] = []
    const unreadable: UnreadableTensor[] = []
    const located = new Map<string, Located>()
    const seen = new Set<string>()
    for (const group of groups) {
      const files = await ConcatenatedFiles.open(modelJson, group.paths.map((p) => resolve(folder, p)))
      opened.push(files)
      let position = 0
      for (const weight of group.weights) {
        if (seen.has(weight.name)) throw new CheckpointFormatError(modelJson, 'is listed twice in weightsManifest', { tensor: weight.name })
        seen.add(weight.name)
        const byteLength = weight.dtype === 'string' ? await stringTensorBytes(modelJson, files, position, weight) : storedByteLength(weight)
        if (position + byteLength > files.size) {
          throw new CheckpointFormatError(modelJson, `weights end at byte ${files.size} of the group, before this weight's ${byteLength} bytes at ${position} (shard files truncated or missing data)`, { tensor: weight.name })
        }
        const reason = unreadableReason(weight)
        if (reason) unreadable.push({ name: weight.name, dtype: weight.dtype, shape: weight.shape, reason })
        else {
          const { path, offset } = files.locate(position)
          const info: TensorInfo = { name: weight.name, dtype: readableDtypes[weight.dtype]!, shape: weight.shape, file: path, byteOffset: offset, byteLength }
          if (weight.quantization) info.quantization = weight.quantization
          tensors.push(info)
          located.set(weight.name, { info, group: files, position })
        }
        position += byteLength
      }
      if (position !== files.size) {
        throw new CheckpointFormatError(modelJson, `weights group [${group.paths.join(', ')}] describes ${position} bytes but its files hold ${files.size}`)
      }
    }
    return new TfjsWeights(modelJson, tensors, unreadable, describeModelJson(document), located, opened, options.source ?? modelJson, options.config ?? describeUseGraph(tensors))
  } catch (error) {
    await Promise.all(opened.map((files) => files.close()))
    throw error
  }
}

/**
 * A string tensor has no size in the manifest: each element is a 4-byte little-endian length and
 * that many bytes. Walking the lengths is the only way to find where the next weight starts.
 */
async function stringTensorBytes(modelJson: string, files: ConcatenatedFiles, start: number, weight: ManifestWeight): Promise<number> {
  let position = start
  const count = elementCount(weight.shape)
  const pastTheEnd = (): never => {
    throw new CheckpointFormatError(modelJson, `string weight runs past the end of its weights files (${files.size} bytes)`, { tensor: weight.name })
  }
  for (let i = 0; i < count; i++) {
    if (position + 4 > files.size) pastTheEnd()
    const prefix = await files.read(position, 4, weight.name)
    position += 4 + new DataView(prefix.buffer).getUint32(0, true)
  }
  if (position > files.size) pastTheEnd()
  return position - start
}
