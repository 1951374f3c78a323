import { copyFile, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openCheckpoint, openSafetensors } from '../../../src/main/engine/io'
import { expectFormatError, gpt2Dir, hex, makeTempDir, removeTempDir, runReference } from './helpers'

let tmp: string
let shards: string[]
beforeAll(async () => {
  tmp = await makeTempDir('sharded')
})
afterAll(async () => {
  await removeTempDir(tmp)
})

interface WeightIndex {
  metadata: { total_size: number }
  weight_map: Record<string, string>
}

/** A fresh 3-shard copy of tiny-random-gpt2, written by the numpy reference, with its config.json. */
async function shardedCopy(name: string): Promise<string> {
  const folder = join(tmp, name)
  shards = runReference<{ shards: string[] }>(['shard', join(gpt2Dir, 'model.safetensors'), folder, '3']).shards
  await copyFile(join(gpt2Dir, 'config.json'), join(folder, 'config.json'))
  return folder
}

async function editIndex(folder: string, edit: (index: WeightIndex) => void): Promise<string> {
  const path = join(folder, 'model.safetensors.index.json')
  const index = JSON.parse(await readFile(path, 'utf8')) as WeightIndex
  edit(index)
  await writeFile(path, JSON.stringify(index))
  return path
}

describe('sharded safetensors through model.safetensors.index.json', () => {
  it('reads every tensor of a 3-shard checkpoint exactly as the single file holds it', async () => {
    const folder = await shardedCopy('good')
    expect(shards).toHaveLength(3)
    const single = await openSafetensors(join(gpt2Dir, 'model.safetensors'))
    const sharded = await openCheckpoint(folder)
    try {
      expect(sharded.format).toBe('safetensors')
      expect(sharded.source).toBe(folder)
      expect(sharded.metadata).toEqual({ format: 'pt' })
      expect(sharded.config?.modelType).toBe('gpt2')
      // Shards in name order, each in offset order: the original data order, split in three runs.
      expect(sharded.tensors.map((t) => t.name)).toEqual(single.tensors.map((t) => t.name))
      expect(new Set(sharded.tensors.map((t) => t.file))).toEqual(new Set(shards.map((s) => join(folder, s))))
      for (const tensor of single.tensors) {
        expect(hex(await sharded.readRaw(tensor.name)), tensor.name).toBe(hex(await single.readRaw(tensor.name)))
      }
      expect(Array.from(await sharded.readFloat64('transformer.ln_f.weight'))).toEqual(Array.from(await single.readFloat64('transformer.ln_f.weight')))
    } finally {
      await single.close()
      await sharded.close()
    }
  })

  it('opens the index file itself as well as its folder', async () => {
    const folder = await shardedCopy('by-index')
    const index = join(folder, 'model.safetensors.index.json')
    const source = await openCheckpoint(index)
    expect(source.source).toBe(index)
    expect(source.tensors).toHaveLength(64)
    await source.close()
  })

  it('rejects an index that lists a tensor in the wrong shard', async () => {
    const folder = await shardedCopy('wrong-shard')
    const moved = 'transformer.h.0.attn.c_attn.weight'
    let listedIn = ''
    const index = await editIndex(folder, (i) => {
      listedIn = i.weight_map[moved] === shards[0] ? shards[1]! : shards[0]!
      i.weight_map[moved] = listedIn
    })
    await expectFormatError(openCheckpoint(folder), { file: index, tensor: moved, message: new RegExp(`lists it in ${listedIn}|which does not hold it`) })
  })

  it('rejects an index that names a shard which is not there', async () => {
    const folder = await shardedCopy('missing-shard')
    const index = await editIndex(folder, (i) => {
      i.weight_map['transformer.wte.weight'] = 'model-00004-of-00004.safetensors'
    })
    await expectFormatError(openCheckpoint(folder), { file: index, message: /lists shard model-00004-of-00004\.safetensors, which does not exist/ })
  })

  it('rejects a shard that was deleted', async () => {
    const folder = await shardedCopy('deleted-shard')
    await rm(join(folder, shards[1]!))
    await expectFormatError(openCheckpoint(folder), { file: join(folder, 'model.safetensors.index.json'), message: new RegExp(`lists shard ${shards[1]}, which does not exist`) })
  })

  it('rejects a shard holding a tensor the index does not list', async () => {
    const folder = await shardedCopy('unlisted')
    const index = await editIndex(folder, (i) => {
      delete i.weight_map['transformer.wpe.weight']
    })
    await expectFormatError(openCheckpoint(folder), { file: index, tensor: 'transformer.wpe.weight', message: /does not list it/ })
  })

  it('rejects shard paths that leave the folder, and indexes without a weight_map', async () => {
    const folder = await shardedCopy('escape')
    const index = await editIndex(folder, (i) => {
      i.weight_map['transformer.wte.weight'] = '../elsewhere.safetensors'
    })
    await expectFormatError(openCheckpoint(folder), { file: index, tensor: 'transformer.wte.weight', message: /not a shard file name beside the index/ })
    await writeFile(index, JSON.stringify({ metadata: {} }))
    await expectFormatError(openCheckpoint(folder), { file: index, message: /no "weight_map"/ })
    await writeFile(index, '{"weight_map": ')
    await expectFormatError(openCheckpoint(folder), { file: index, message: /not valid JSON/ })
  })
})
