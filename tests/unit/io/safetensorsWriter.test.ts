import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CheckpointFormatError, encodeFloat64, openSafetensors, writeSafetensors, type TensorToWrite } from '../../../src/main/engine/io'
import { expectFormatError, float64Hex, hex, makeTempDir, removeTempDir, runReference, type ReferenceDump } from './helpers'

let tmp: string
beforeAll(async () => {
  tmp = await makeTempDir('writer')
})
afterAll(async () => {
  await removeTempDir(tmp)
})

const bf16Bits = new Uint16Array(encodeFloat64([1, -0.5, 3.140625, 1e-40], 'BF16').buffer)

/** One tensor per dtype, given in every accepted form: matching typed arrays, raw bytes, a producer. */
function everyDtype(): TensorToWrite[] {
  return [
    { name: 'z.float64', dtype: 'F64', shape: [2, 2], data: Float64Array.of(0.1, -0, Infinity, NaN) },
    { name: 'a.float32', dtype: 'F32', shape: [3], data: Float32Array.of(1.5, -2, 3.4e38) },
    { name: 'float32.scalar', dtype: 'F32', shape: [], data: Float32Array.of(7) },
    { name: 'float32.empty', dtype: 'F32', shape: [0, 5], data: new Float32Array(0) },
    { name: 'float16', dtype: 'F16', shape: [4], data: encodeFloat64([1, 65504, 2 ** -24, -Infinity], 'F16') },
    { name: 'bfloat16', dtype: 'BF16', shape: [2, 2], data: bf16Bits },
    { name: 'int64', dtype: 'I64', shape: [3], data: BigInt64Array.of(-(2n ** 63n), 2n ** 53n + 1n, 42n) },
    { name: 'int32', dtype: 'I32', shape: [2], data: Int32Array.of(-(2 ** 31), 2 ** 31 - 1) },
    { name: 'int16', dtype: 'I16', shape: [2], data: () => Int16Array.of(-32768, 32767) },
    { name: 'int8', dtype: 'I8', shape: [3], data: async () => Int8Array.of(-128, 127, 0) },
    { name: 'uint8', dtype: 'U8', shape: [1, 3], data: Uint8Array.of(0, 128, 255) },
    { name: 'bool', dtype: 'BOOL', shape: [3], data: Uint8Array.of(1, 0, 1) }
  ]
}

async function tempFilesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.tmp'))
}

describe('writeSafetensors', () => {
  it('writes every dtype so that numpy reads back the same names, shapes, metadata and bytes', async () => {
    const path = join(tmp, 'all-dtypes.safetensors')
    const tensors = everyDtype()
    const metadata = { format: 'pt', run: 'σ-test' }
    await writeSafetensors(path, tensors, metadata)

    const reference = runReference<ReferenceDump>(['dump', path])
    expect(reference.metadata).toEqual(metadata)
    // Data keeps the order given (the reference writer would sort by dtype, then name).
    expect(reference.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(tensors.map((t) => [t.name, t.dtype, t.shape]))
    const expectedHex: Record<string, string> = {
      'z.float64': float64Hex(Float64Array.of(0.1, -0, Infinity, NaN)),
      'a.float32': hex(new Uint8Array(Float32Array.of(1.5, -2, 3.4e38).buffer)),
      'float32.scalar': '0000e040',
      'float32.empty': '',
      float16: '003cff7b010000fc',
      bfloat16: hex(new Uint8Array(bf16Bits.buffer)),
      int64: '0000000000000080' + '0100000000002000' + '2a00000000000000',
      int32: '00000080ffffff7f',
      int16: '0080ff7f',
      int8: '807f00',
      uint8: '0080ff',
      bool: '010001'
    }
    for (const tensor of reference.tensors) expect(tensor.hex, tensor.name).toBe(expectedHex[tensor.name])

    const source = await openSafetensors(path)
    try {
      expect(source.metadata).toEqual(metadata)
      for (const tensor of reference.tensors) {
        expect(hex(await source.readRaw(tensor.name)), tensor.name).toBe(tensor.hex)
        expect(float64Hex(await source.readFloat64(tensor.name)), tensor.name).toBe(tensor.float64Hex)
      }
    } finally {
      await source.close()
    }
  })

  it('pads the header with spaces to a multiple of 8 bytes', async () => {
    const path = join(tmp, 'padded.safetensors')
    await writeSafetensors(path, [{ name: 'w', dtype: 'U8', shape: [1], data: Uint8Array.of(9) }])
    const bytes = await readFile(path)
    const headerLength = Number(bytes.readBigUInt64LE(0))
    expect(headerLength % 8).toBe(0)
    const header = bytes.subarray(8, 8 + headerLength).toString('utf8')
    expect(header).toMatch(/^\{.*\} *$/)
    expect(header.trimEnd()).toBe(JSON.stringify({ w: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }))
    expect(bytes.byteLength).toBe(8 + headerLength + 1)
  })

  it('keeps tensors named __proto__, constructor or toString as ordinary names', async () => {
    const path = join(tmp, 'proto-names.safetensors')
    const names = ['__proto__', 'constructor', 'toString']
    await writeSafetensors(path, names.map((name, i) => ({ name, dtype: 'U8', shape: [1], data: Uint8Array.of(i + 1) })))
    const bytes = await readFile(path)
    const header = bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')
    // JSON.parse defines "__proto__" as an own key, so the raw header shows what the writer put there.
    expect(Object.keys(JSON.parse(header) as object)).toEqual(names)
    const file = await openSafetensors(path)
    try {
      expect(file.tensors.map((t) => t.name)).toEqual(names)
    } finally {
      await file.close()
    }
  })

  it('checks byte lengths and array types against shape × dtype before creating any file', async () => {
    const path = join(tmp, 'invalid.safetensors')
    await expectFormatError(writeSafetensors(path, [{ name: 'w', dtype: 'F32', shape: [2, 3], data: new Float32Array(5) }]), {
      file: path,
      tensor: 'w',
      message: /shape \[2, 3\] of F32 needs 24 bytes but the data holds 20/
    })
    await expectFormatError(writeSafetensors(path, [{ name: 'w', dtype: 'F32', shape: [2], data: new Float64Array(1) }]), {
      file: path,
      tensor: 'w',
      message: /F32 data given as Float64Array/
    })
    const twice: TensorToWrite = { name: 'w', dtype: 'U8', shape: [1], data: Uint8Array.of(1) }
    await expectFormatError(writeSafetensors(path, [twice, twice]), { file: path, tensor: 'w', message: /given twice/ })
    await expect(readdir(tmp)).resolves.not.toContain('invalid.safetensors')
    expect(await tempFilesIn(tmp)).toEqual([])
  })

  it('replaces an existing file only when the new one is complete', async () => {
    const path = join(tmp, 'model.safetensors')
    await writeSafetensors(path, [{ name: 'old', dtype: 'U8', shape: [2], data: Uint8Array.of(1, 2) }])
    const before = await readFile(path)

    // A producer that fails half way: the file already written must stay as it was.
    const failing: TensorToWrite[] = [
      { name: 'first', dtype: 'U8', shape: [4], data: Uint8Array.of(1, 2, 3, 4) },
      { name: 'second', dtype: 'F32', shape: [4], data: () => new Float32Array(3) }
    ]
    const error = await writeSafetensors(path, failing).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CheckpointFormatError)
    expect((error as CheckpointFormatError).tensor).toBe('second')
    expect(await readFile(path)).toEqual(before)
    expect(await tempFilesIn(tmp)).toEqual([])

    await writeSafetensors(path, [{ name: 'new', dtype: 'U8', shape: [1], data: Uint8Array.of(3) }])
    const source = await openSafetensors(path)
    expect(source.tensors.map((t) => t.name)).toEqual(['new'])
    await source.close()
  })

  it('removes its temp file when the final rename fails', async () => {
    // Renaming a file over a non-empty folder fails on every platform, whoever runs the test.
    const target = join(tmp, 'occupied.safetensors')
    await mkdir(target)
    await writeFile(join(target, 'keep.txt'), 'kept')
    const error = await writeSafetensors(target, [{ name: 'w', dtype: 'U8', shape: [1], data: Uint8Array.of(1) }]).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(new RegExp(`^${target}: cannot write: is a folder, not a file \\(EISDIR\\)$`))
    expect(await readFile(join(target, 'keep.txt'), 'utf8')).toBe('kept')
    expect(await tempFilesIn(tmp)).toEqual([])
  })

  // root ignores folder permissions, so only an unprivileged user can see this one fail.
  it.skipIf(process.getuid?.() === 0)('fails cleanly in a read-only folder and leaves the old file', async () => {
    const folder = join(tmp, 'read-only')
    await mkdir(folder)
    const path = join(folder, 'model.safetensors')
    await writeFile(path, 'old contents')
    await chmod(folder, 0o555)
    try {
      await expect(writeSafetensors(path, [{ name: 'w', dtype: 'U8', shape: [1], data: Uint8Array.of(1) }])).rejects.toThrow(/EACCES|EPERM/)
      expect(await readFile(path, 'utf8')).toBe('old contents')
      expect(await tempFilesIn(folder)).toEqual([])
    } finally {
      await chmod(folder, 0o755)
    }
  })
})
