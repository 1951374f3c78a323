/**
 * A checkpoint split over several safetensors files, with `model.safetensors.index.json` mapping each
 * tensor name to its shard (`weight_map`). The index and the shards must agree exactly: a tensor in
 * the wrong shard usually means a half-copied or hand-edited folder, and reading on would load the
 * wrong weights or fail much later.
 */
import { basename, dirname, isAbsolute, join, normalize } from 'node:path'
import { CheckpointFormatError } from './errors'
import { readJsonObject } from './jsonFile'
import type { ModelDescription } from './hfConfig'
import { openSafetensors, type SafetensorsFile } from './safetensors'
import type { TensorInfo, TensorSource, UnreadableTensor } from './tensorSource'

export class ShardedSafetensors implements TensorSource {
  readonly format = 'safetensors' as const
  readonly unreadable: readonly UnreadableTensor[] = []
  readonly tensors: readonly TensorInfo[]
  readonly metadata: Record<string, string>
  private readonly shardOf: ReadonlyMap<string, SafetensorsFile>

  constructor(
    readonly indexPath: string,
    private readonly shards: readonly SafetensorsFile[],
    readonly source: string = indexPath,
    readonly config?: ModelDescription
  ) {
    this.tensors = shards.flatMap((shard) => shard.tensors)
    this.shardOf = new Map(shards.flatMap((shard) => shard.tensors.map((t) => [t.name, shard] as const)))
    // Shards saved together carry the same __metadata__ ({"format": "pt"}); the first speaks for all.
    this.metadata = { ...(shards[0]?.metadata ?? {}) }
  }

  private shard(name: string): SafetensorsFile {
    const shard = this.shardOf.get(name)
    if (!shard) throw new CheckpointFormatError(this.indexPath, 'no such tensor in this checkpoint', { tensor: name })
    return shard
  }

  readRaw(name: string): Promise<Uint8Array> {
    return this.shard(name).readRaw(name)
  }

  readFloat64(name: string): Promise<Float64Array> {
    return this.shard(name).readFloat64(name)
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((shard) => shard.close()))
  }
}

export async function openShardedSafetensors(indexPath: string, options: { source?: string; config?: ModelDescription } = {}): Promise<ShardedSafetensors> {
  const weightMap = await readWeightMap(indexPath)
  const folder = dirname(indexPath)
  const expected = new Map<string, Set<string>>()
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (!expected.has(shard)) expected.set(shard, new Set())
    expected.get(shard)!.add(tensor)
  }
  const shardNames = [...expected.keys()].sort()
  const shards: SafetensorsFile[] = []
  try {
    for (const shardName of shardNames) {
      const shard = await openShard(indexPath, join(folder, shardName), shardName)
      shards.push(shard)
      checkShardMatchesIndex(indexPath, shardName, shard, expected.get(shardName)!, weightMap)
    }
  } catch (error) {
    await Promise.all(shards.map((shard) => shard.close()))
    throw error
  }
  return new ShardedSafetensors(indexPath, shards, options.source ?? indexPath, options.config)
}

async function readWeightMap(indexPath: string): Promise<Record<string, string>> {
  const weightMap = (await readJsonObject(indexPath)).weight_map
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new CheckpointFormatError(indexPath, 'has no "weight_map" object mapping tensor names to shard files')
  }
  for (const [tensor, shard] of Object.entries(weightMap)) {
    // Shards live beside the index; a path that leaves the folder is a broken (or hostile) index.
    if (typeof shard !== 'string' || shard === '' || isAbsolute(shard) || normalize(shard).startsWith('..')) {
      throw new CheckpointFormatError(indexPath, `weight_map entry ${JSON.stringify(shard)} is not a shard file name beside the index`, { tensor })
    }
  }
  if (Object.keys(weightMap).length === 0) throw new CheckpointFormatError(indexPath, 'weight_map lists no tensors')
  return weightMap as Record<string, string>
}

async function openShard(indexPath: string, path: string, shardName: string): Promise<SafetensorsFile> {
  try {
    return await openSafetensors(path)
  } catch (error) {
    if (error instanceof CheckpointFormatError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      throw new CheckpointFormatError(indexPath, `lists shard ${shardName}, which does not exist in ${dirname(indexPath)}`, { cause: error })
    }
    throw error
  }
}

function checkShardMatchesIndex(
  indexPath: string,
  shardName: string,
  shard: SafetensorsFile,
  expected: ReadonlySet<string>,
  weightMap: Record<string, string>
): void {
  const index = basename(indexPath)
  for (const tensor of shard.tensors) {
    if (expected.has(tensor.name)) continue
    const listedIn = Object.hasOwn(weightMap, tensor.name) ? weightMap[tensor.name] : undefined
    const problem = listedIn === undefined ? `is in shard ${shardName} but ${index} does not list it` : `is in shard ${shardName} but ${index} lists it in ${listedIn}`
    throw new CheckpointFormatError(indexPath, problem, { tensor: tensor.name })
  }
  for (const name of expected) {
    if (!shard.has(name)) throw new CheckpointFormatError(indexPath, `is listed in shard ${shardName}, which does not hold it`, { tensor: name })
  }
}
