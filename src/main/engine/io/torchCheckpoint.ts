/**
 * PyTorch checkpoints: `pytorch_model.bin` (one `torch.save`d state dict) and a sharded
 * `pytorch_model.bin.index.json`, read as a TensorSource like safetensors. The zip is read by
 * torchZip.ts, its data.pkl by the restricted unpickler in torchPickle.ts (no pickle code ever runs),
 * and each tensor later by its byte range, so a large checkpoint costs only the tensors read.
 * A tensor that is a strided view (a transpose, a slice) is copied out element by element in row-major
 * order; tensors sharing a storage (tied weights) read the same bytes.
 */
import type { FileHandle } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, normalize } from 'node:path'
import { decodeToFloat64, dtypeByteSize, elementCount } from './dtypes'
import { CheckpointFormatError, openWeightsFile } from './errors'
import { readExactly } from './fileRange'
import type { ModelDescription } from './hfConfig'
import { readJsonObject } from './jsonFile'
import type { TensorInfo, TensorSource, UnreadableTensor } from './tensorSource'
import { unpickleStateDict, type PickleTensor, type PickleValue } from './torchPickle'
import { openTorchZip, type TorchZip, type ZipEntry } from './torchZip'

/** data.pkl of a state dict takes about 100 bytes per tensor: this allows millions. */
const maxPickleBytes = 256 << 20

interface TorchTensor {
  info: TensorInfo
  entry: ZipEntry
  view: PickleTensor
  contiguous: boolean
}

/** One torch.save file. */
export class TorchFile {
  private readonly byName: ReadonlyMap<string, TorchTensor>
  readonly tensors: readonly TensorInfo[]

  constructor(
    readonly path: string,
    private handle: FileHandle | undefined,
    private readonly zip: TorchZip,
    tensors: readonly TorchTensor[]
  ) {
    this.byName = new Map(tensors.map((t) => [t.info.name, t]))
    this.tensors = tensors.map((t) => t.info)
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  async readRaw(name: string): Promise<Uint8Array> {
    const tensor = this.byName.get(name)
    if (!tensor) throw new CheckpointFormatError(this.path, 'no such tensor in this file', { tensor: name })
    if (!this.handle) throw new CheckpointFormatError(this.path, 'file was closed before the tensor was read', { tensor: name })
    const { view, entry } = tensor
    const size = dtypeByteSize[tensor.info.dtype]
    const count = elementCount(view.shape)
    if (count === 0) return new Uint8Array(0)
    if (tensor.contiguous) return this.zip.readEntry(entry, view.offset * size, count * size, name)
    // A strided view: read the span it touches once, then gather its elements in row-major order.
    const last = lastElement(view)
    const span = await this.zip.readEntry(entry, view.offset * size, (last - view.offset + 1) * size, name)
    const out = new Uint8Array(count * size)
    // Runs along the last dimension are copied whole when it is contiguous (a slice of rows).
    const dims = view.shape.length
    const run = view.stride[dims - 1] === 1 ? view.shape[dims - 1]! : 1
    const outer = dims - (run > 1 ? 2 : 1)
    const index = new Array<number>(dims).fill(0)
    let from = 0
    for (let i = 0; i < count; i += run) {
      if (run > 1) out.set(span.subarray(from * size, (from + run) * size), i * size)
      else for (let b = 0; b < size; b++) out[i * size + b] = span[from * size + b]!
      for (let d = outer; d >= 0; d--) {
        index[d]!++
        from += view.stride[d]!
        if (index[d]! < view.shape[d]!) break
        from -= view.stride[d]! * view.shape[d]!
        index[d] = 0
      }
    }
    return out
  }

  async close(): Promise<void> {
    const handle = this.handle
    this.handle = undefined
    await handle?.close()
  }
}

/** Storage index of a view's last element (views never have negative strides in torch). */
function lastElement(view: PickleTensor): number {
  return view.shape.reduce((sum, size, d) => sum + (size - 1) * view.stride[d]!, view.offset)
}

function isContiguous(view: PickleTensor): boolean {
  let expected = 1
  for (let d = view.shape.length - 1; d >= 0; d--) {
    if (view.shape[d]! !== 1 && view.stride[d]! !== expected) return false
    expected *= view.shape[d]!
  }
  return true
}

/** Open one torch.save file; the caller closes it. */
export async function openTorchFile(path: string): Promise<TorchFile> {
  const { handle, size } = await openWeightsFile(path)
  try {
    const magic = await readExactly(handle, path, 0, Math.min(4, size))
    if (!(magic[0] === 0x50 && magic[1] === 0x4b && magic[2] === 0x03 && magic[3] === 0x04)) {
      if (magic[0] === 0x80) {
        throw new CheckpointFormatError(path, "is in PyTorch's legacy serialization format (torch < 1.6, a raw pickle stream), which SiVA does not read: re-save it with a newer torch (torch.save(torch.load(file), file)) or convert it to safetensors")
      }
      throw new CheckpointFormatError(path, 'is not a PyTorch checkpoint: torch.save writes a zip archive, and this file does not start like one')
    }
    const zip = await openTorchZip(path, handle, size)
    const pickles = zip.entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name))
    if (pickles.length !== 1) throw new CheckpointFormatError(path, pickles.length === 0 ? 'is a zip archive without a <name>/data.pkl: not a checkpoint torch.save wrote' : 'holds more than one data.pkl')
    const pickle = pickles[0]!
    const prefix = pickle.name.slice(0, -'data.pkl'.length)
    const byteorder = zip.entry(`${prefix}byteorder`)
    if (byteorder) {
      if (byteorder.size > 16) throw new CheckpointFormatError(path, `${byteorder.name} is ${byteorder.size} bytes; it should say "little" or "big"`)
      const order = new TextDecoder().decode(await zip.readEntry(byteorder, 0, byteorder.size)).trim()
      if (order === 'big') throw new CheckpointFormatError(path, 'was saved on a big-endian machine; SiVA reads little-endian checkpoints only: load and re-save it on a little-endian machine, or convert it to safetensors')
      if (order !== 'little') throw new CheckpointFormatError(path, `${byteorder.name} says ${JSON.stringify(order)}, not "little" or "big"`)
    }
    if (pickle.size > maxPickleBytes) throw new CheckpointFormatError(path, `${pickle.name} is ${pickle.size} bytes, more than the ${maxPickleBytes} a state dict's takes`)
    const root = unpickleStateDict(await zip.readEntry(pickle, 0, pickle.size), path, pickle.name)
    const tensors = await stateDictTensors(path, zip, prefix, root)
    return new TorchFile(path, handle, zip, tensors)
  } catch (error) {
    await handle.close()
    throw error
  }
}

async function stateDictTensors(path: string, zip: TorchZip, prefix: string, root: PickleValue): Promise<TorchTensor[]> {
  if (root === null || typeof root !== 'object' || root instanceof Uint8Array || root.kind !== 'dict') {
    throw new CheckpointFormatError(path, 'does not hold a state dict (a dict of tensors) but a single value: save model.state_dict()')
  }
  const tensors: TorchTensor[] = []
  for (const [key, value] of root.entries) {
    if (typeof key !== 'string') throw new CheckpointFormatError(path, `holds a key ${String(key)} that is not a tensor name: not a state dict`)
    if (value === null || typeof value !== 'object' || value instanceof Uint8Array || value.kind !== 'tensor') {
      const what = value === null ? 'None' : value instanceof Uint8Array ? 'bytes' : typeof value === 'object' ? `a ${value.kind}` : `a ${typeof value}`
      throw new CheckpointFormatError(path, `holds ${what} rather than a tensor: this is not a plain state dict (a training checkpoint? save model.state_dict())`, { tensor: key })
    }
    const { storage } = value
    const size = dtypeByteSize[storage.dtype]
    const entry = zip.entry(`${prefix}data/${storage.key}`)
    if (!entry) throw new CheckpointFormatError(path, `its storage ${prefix}data/${storage.key} is missing from the archive`, { tensor: key })
    if (entry.size < storage.numel * size) {
      throw new CheckpointFormatError(path, `its storage ${entry.name} is ${entry.size} bytes but should hold ${storage.numel} ${storage.dtype} elements (${storage.numel * size} bytes)`, { tensor: key })
    }
    const count = elementCount(value.shape)
    if (!Number.isSafeInteger(count)) throw new CheckpointFormatError(path, `has a shape [${value.shape.join(', ')}] too large to read`, { tensor: key })
    if (count > storage.numel) {
      // Only a broadcast view (a stride of 0, from expand()) holds more elements than its storage.
      throw new CheckpointFormatError(path, `is a view of shape [${value.shape.join(', ')}] and stride [${value.stride.join(', ')}] with more elements than its storage of ${storage.numel}: save it with .contiguous() to read it`, { tensor: key })
    }
    if (count > 0 && lastElement(value) >= storage.numel) {
      throw new CheckpointFormatError(path, `is a view (offset ${value.offset}, shape [${value.shape.join(', ')}], stride [${value.stride.join(', ')}]) that runs past its storage of ${storage.numel} elements`, { tensor: key })
    }
    const dataStart = await zip.dataStart(entry)
    tensors.push({
      info: { name: key, dtype: storage.dtype, shape: value.shape, file: path, byteOffset: dataStart + value.offset * size, byteLength: count * size },
      entry,
      view: value,
      contiguous: isContiguous(value)
    })
  }
  return tensors
}

/** A PyTorch checkpoint as a TensorSource: one file, or the shards of a pytorch_model.bin.index.json. */
export class TorchCheckpoint implements TensorSource {
  /**
   * TensorSource names the formats SiVA exports; a merged model of a PyTorch checkpoint is written as
   * safetensors. `container` says what was read.
   */
  readonly format = 'safetensors' as const
  readonly container = 'pytorch' as const
  readonly unreadable: readonly UnreadableTensor[] = []
  readonly metadata: Record<string, string> = {}
  readonly tensors: readonly TensorInfo[]
  private readonly shardOf: ReadonlyMap<string, TorchFile>
  private readonly byName: ReadonlyMap<string, TensorInfo>

  constructor(
    /** The .bin file, or the index for a sharded checkpoint. */
    readonly path: string,
    readonly shards: readonly TorchFile[],
    readonly source: string,
    readonly indexPath?: string,
    readonly config?: ModelDescription
  ) {
    this.tensors = shards.flatMap((s) => s.tensors)
    this.shardOf = new Map(shards.flatMap((s) => s.tensors.map((t) => [t.name, s] as const)))
    this.byName = new Map(this.tensors.map((t) => [t.name, t]))
  }

  private shard(name: string): TorchFile {
    const shard = this.shardOf.get(name)
    if (!shard) throw new CheckpointFormatError(this.path, 'no such tensor in this checkpoint', { tensor: name })
    return shard
  }

  readRaw(name: string): Promise<Uint8Array> {
    return this.shard(name).readRaw(name)
  }

  async readFloat64(name: string): Promise<Float64Array> {
    const bytes = await this.readRaw(name)
    return decodeToFloat64(bytes, this.byName.get(name)!.dtype)
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()))
  }
}

export async function openTorchCheckpoint(path: string, options: { source?: string; config?: ModelDescription } = {}): Promise<TorchCheckpoint> {
  const file = await openTorchFile(path)
  return new TorchCheckpoint(path, [file], options.source ?? path, undefined, options.config)
}

/** A sharded checkpoint: the index's weight_map and the shards must agree exactly. */
export async function openShardedTorchCheckpoint(indexPath: string, options: { source?: string; config?: ModelDescription } = {}): Promise<TorchCheckpoint> {
  const weightMap = (await readJsonObject(indexPath)).weight_map
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new CheckpointFormatError(indexPath, 'has no "weight_map" object mapping tensor names to shard files')
  }
  const expected = new Map<string, Set<string>>()
  for (const [tensor, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '' || isAbsolute(shard) || normalize(shard).startsWith('..')) {
      throw new CheckpointFormatError(indexPath, `weight_map entry ${JSON.stringify(shard)} is not a shard file name beside the index`, { tensor })
    }
    if (!expected.has(shard)) expected.set(shard, new Set())
    expected.get(shard)!.add(tensor)
  }
  if (expected.size === 0) throw new CheckpointFormatError(indexPath, 'weight_map lists no tensors')
  const index = basename(indexPath)
  const shards: TorchFile[] = []
  try {
    for (const shardName of [...expected.keys()].sort()) {
      let shard: TorchFile
      try {
        shard = await openTorchFile(join(dirname(indexPath), shardName))
      } catch (error) {
        if (error instanceof CheckpointFormatError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
          throw new CheckpointFormatError(indexPath, `lists shard ${shardName}, which does not exist in ${dirname(indexPath)}`, { cause: error })
        }
        throw error
      }
      shards.push(shard)
      const names = expected.get(shardName)!
      for (const t of shard.tensors) {
        if (!names.has(t.name)) {
          const listedIn = Object.hasOwn(weightMap, t.name) ? (weightMap as Record<string, string>)[t.name] : undefined
          throw new CheckpointFormatError(indexPath, listedIn === undefined ? `is in shard ${shardName} but ${index} does not list it` : `is in shard ${shardName} but ${index} lists it in ${listedIn}`, { tensor: t.name })
        }
      }
      for (const name of names) if (!shard.has(name)) throw new CheckpointFormatError(indexPath, `is listed in shard ${shardName}, which does not hold it`, { tensor: name })
    }
  } catch (error) {
    await Promise.all(shards.map((s) => s.close()))
    throw error
  }
  return new TorchCheckpoint(indexPath, shards, options.source ?? indexPath, indexPath, options.config)
}
