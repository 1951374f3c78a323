/**
 * Lazy safetensors reader: opening reads only the 8-byte length and the JSON header; each tensor is
 * read later by its offset, so one tensor of a multi-gigabyte file costs only its own bytes.
 */
import type { FileHandle } from 'node:fs/promises'
import { decodeToFloat64 } from './dtypes'
import { CheckpointFormatError, openWeightsFile } from './errors'
import { readExactly } from './fileRange'
import type { ModelDescription } from './hfConfig'
import { checkHeaderLength, headerLengthBytes, parseHeader } from './safetensorsHeader'
import type { TensorInfo, TensorSource, UnreadableTensor } from './tensorSource'

export { writeSafetensors, type TensorToWrite, type TensorData } from './safetensorsWriter'

export interface OpenOptions {
  /** The path as the user gave it, reported as `source` (defaults to `path`). */
  source?: string
  config?: ModelDescription
}

export class SafetensorsFile implements TensorSource {
  readonly format = 'safetensors' as const
  readonly unreadable: readonly UnreadableTensor[] = []
  private readonly byName: ReadonlyMap<string, TensorInfo>
  private handle: FileHandle | undefined

  constructor(
    readonly path: string,
    handle: FileHandle,
    readonly tensors: readonly TensorInfo[],
    readonly metadata: Record<string, string>,
    readonly source: string = path,
    readonly config?: ModelDescription
  ) {
    this.handle = handle
    this.byName = new Map(tensors.map((t) => [t.name, t]))
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  info(name: string): TensorInfo {
    const tensor = this.byName.get(name)
    if (!tensor) throw new CheckpointFormatError(this.path, 'no such tensor in this file', { tensor: name })
    return tensor
  }

  async readRaw(name: string): Promise<Uint8Array> {
    const tensor = this.info(name)
    if (!this.handle) throw new CheckpointFormatError(this.path, 'file was closed before the tensor was read', { tensor: name })
    return readExactly(this.handle, this.path, tensor.byteOffset, tensor.byteLength, name)
  }

  async readFloat64(name: string): Promise<Float64Array> {
    return decodeToFloat64(await this.readRaw(name), this.info(name).dtype)
  }

  async close(): Promise<void> {
    const handle = this.handle
    this.handle = undefined
    await handle?.close()
  }
}

export async function openSafetensors(path: string, options: OpenOptions = {}): Promise<SafetensorsFile> {
  const { handle, size } = await openWeightsFile(path)
  try {
    const prefix = await readExactly(handle, path, 0, Math.min(headerLengthBytes, size))
    const dataStart = checkHeaderLength(path, prefix, size)
    const json = await readExactly(handle, path, headerLengthBytes, dataStart - headerLengthBytes)
    const header = parseHeader(path, json, dataStart, size - dataStart)
    const tensors: TensorInfo[] = header.entries.map((entry) => ({
      name: entry.name,
      dtype: entry.dtype,
      shape: entry.shape,
      file: path,
      byteOffset: dataStart + entry.dataOffsets[0],
      byteLength: entry.dataOffsets[1] - entry.dataOffsets[0]
    }))
    return new SafetensorsFile(path, handle, tensors, header.metadata, options.source ?? path, options.config)
  } catch (error) {
    await handle.close()
    throw error
  }
}
