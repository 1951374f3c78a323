import { createHash } from 'node:crypto'
import { copyFile, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openSafetensors } from '../../../src/main/engine/io'
import {
  craftSafetensors,
  expectFormatError,
  float64Hex,
  gpt2Dir,
  hex,
  ioFixtures,
  makeTempDir,
  removeTempDir,
  runReference,
  type ReferenceDump
} from './helpers'

let tmp: string
beforeAll(async () => {
  tmp = await makeTempDir('reader')
})
afterAll(async () => {
  await removeTempDir(tmp)
})

describe('openSafetensors on the numpy-written file with every dtype', () => {
  const file = join(ioFixtures, 'dtypes.safetensors')

  it('lists every tensor in file order with its dtype, shape and absolute offsets, and keeps __metadata__', async () => {
    const reference = runReference<ReferenceDump>(['dump', file])
    const source = await openSafetensors(file)
    try {
      expect(source.metadata).toEqual(reference.metadata)
      expect(source.metadata.note).toBe('σ ≥ 0, unicode survives')
      expect(source.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(reference.tensors.map((t) => [t.name, t.dtype, t.shape]))
      expect(new Set(source.tensors.map((t) => t.dtype))).toEqual(new Set(['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL']))
      const dataStart = (await stat(file)).size - reference.tensors.at(-1)!.dataOffsets[1]
      for (const [i, tensor] of source.tensors.entries()) {
        const [begin, end] = reference.tensors[i]!.dataOffsets
        expect(tensor.file).toBe(file)
        expect(tensor.byteOffset).toBe(dataStart + begin)
        expect(tensor.byteLength).toBe(end - begin)
      }
    } finally {
      await source.close()
    }
  })

  it('reads exact bytes and the same float64 values as numpy, NaN, infinities and -0 included', async () => {
    const reference = runReference<ReferenceDump>(['dump', file])
    const source = await openSafetensors(file)
    try {
      for (const expected of reference.tensors) {
        expect(hex(await source.readRaw(expected.name)), expected.name).toBe(expected.hex)
        expect(float64Hex(await source.readFloat64(expected.name)), expected.name).toBe(expected.float64Hex)
      }
      expect(Array.from(await source.readFloat64('float32.scalar'))).toEqual([Math.fround(Math.PI)])
      expect(await source.readFloat64('float32.empty')).toHaveLength(0)
    } finally {
      await source.close()
    }
  })
})

describe('openSafetensors on the real tiny-random-gpt2 checkpoint', () => {
  const file = join(gpt2Dir, 'model.safetensors')

  // fixtures/README.md says 72 tensors, but the file (sha256 8111d5af…) holds 64: 12 per block × 5
  // blocks + wte, wpe, ln_f.weight, ln_f.bias. The count is derived from the config, not copied.
  it('lists all 64 F32 tensors (12 per block, 5 blocks, plus wte, wpe, ln_f) with their shapes and {format: pt}', async () => {
    const reference = runReference<ReferenceDump>(['dump', file, '--digest'])
    const source = await openSafetensors(file)
    try {
      expect(source.tensors).toHaveLength(12 * 5 + 4)
      expect(source.metadata).toEqual({ format: 'pt' })
      expect(source.tensors.every((t) => t.dtype === 'F32')).toBe(true)
      expect(source.tensors.map((t) => [t.name, t.shape])).toEqual(reference.tensors.map((t) => [t.name, t.shape]))
      const byName = new Map(source.tensors.map((t) => [t.name, t]))
      expect(byName.get('transformer.h.0.attn.c_attn.weight')?.shape).toEqual([32, 96])
      expect(byName.get('transformer.wte.weight')?.shape).toEqual([1000, 32])
      expect(byName.has('lm_head.weight')).toBe(false)
    } finally {
      await source.close()
    }
  })

  it('reads every tensor with the bytes numpy reads, and the same values', async () => {
    const reference = runReference<ReferenceDump>(['dump', file, '--digest'])
    const source = await openSafetensors(file)
    try {
      for (const expected of reference.tensors) {
        const raw = await source.readRaw(expected.name)
        expect(createHash('sha256').update(raw).digest('hex'), expected.name).toBe(expected.sha256)
      }
      for (const name of ['transformer.wte.weight', 'transformer.h.4.mlp.c_proj.weight', 'transformer.ln_f.weight']) {
        const expected = reference.tensors.find((t) => t.name === name)!
        const values = await source.readFloat64(name)
        const sum = values.reduce((a, b) => a + b, 0)
        const sumOfSquares = values.reduce((a, b) => a + b * b, 0)
        expect(sum).toBeCloseTo(expected.sum!, 9)
        expect(sumOfSquares / expected.sumOfSquares!).toBeCloseTo(1, 12)
      }
    } finally {
      await source.close()
    }
  })
})

describe('lazy reading', () => {
  it('opens a sparse 2.5 GB file and reads its small tensor without reading the rest', async () => {
    const huge = 2_500_000_000
    const header = {
      __metadata__: { purpose: 'lazy-read test' },
      small: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      huge: { dtype: 'U8', shape: [huge], data_offsets: [16, 16 + huge] }
    }
    const prefix = craftSafetensors(header, new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer))
    const path = join(tmp, 'sparse.safetensors')
    await writeFile(path, prefix)
    // Extend without writing: the file system allocates nothing for the hole.
    await truncate(path, prefix.byteLength + huge)
    expect((await stat(path)).size).toBeGreaterThan(2 ** 31)

    global.gc?.()
    const rssBefore = process.memoryUsage().rss
    const started = performance.now()
    const source = await openSafetensors(path)
    try {
      expect(Array.from(await source.readFloat64('small'))).toEqual([1, 2, 3, 4])
      expect(source.tensors.find((t) => t.name === 'huge')?.byteLength).toBe(huge)
      const elapsed = performance.now() - started
      const grown = process.memoryUsage().rss - rssBefore
      expect(elapsed).toBeLessThan(1000)
      expect(grown).toBeLessThan(50 * 2 ** 20)
    } finally {
      await source.close()
    }
  })
})

describe('reading after open', () => {
  it('reports a file truncated after it was opened, naming the file and tensor', async () => {
    const path = join(tmp, 'shrinks.safetensors')
    await copyFile(join(ioFixtures, 'dtypes.safetensors'), path)
    const source = await openSafetensors(path)
    try {
      const last = source.tensors.at(-1)!
      await truncate(path, last.byteOffset + 1)
      await expectFormatError(source.readRaw(last.name), { file: path, tensor: last.name, message: /truncated/ })
    } finally {
      await source.close()
    }
  })

  it('refuses unknown tensors and reads after close', async () => {
    const file = join(ioFixtures, 'dtypes.safetensors')
    const source = await openSafetensors(file)
    await expectFormatError(source.readRaw('no.such.tensor'), { file, tensor: 'no.such.tensor', message: /no such tensor/ })
    await source.close()
    await expectFormatError(source.readRaw('uint8.vector'), { file, tensor: 'uint8.vector', message: /closed/ })
  })
})
