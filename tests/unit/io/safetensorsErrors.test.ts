import { afterAll, beforeAll, describe, it } from 'vitest'
import { maxHeaderBytes, openSafetensors } from '../../../src/main/engine/io'
import { craftSafetensors, expectFormatError, makeTempDir, removeTempDir, writeCrafted } from './helpers'

let tmp: string
beforeAll(async () => {
  tmp = await makeTempDir('errors')
})
afterAll(async () => {
  await removeTempDir(tmp)
})

const eightBytes = new Uint8Array(8)

/** Write `bytes` as `name` and expect opening it to fail with a CheckpointFormatError naming it. */
async function expectRejected(name: string, bytes: Uint8Array, expected: { tensor?: string; message: RegExp }): Promise<void> {
  const path = await writeCrafted(tmp, name, bytes)
  await expectFormatError(openSafetensors(path), { file: path, ...expected })
}

describe('openSafetensors rejects broken files with one line naming the file and tensor', () => {
  it('empty file', () => expectRejected('empty.safetensors', new Uint8Array(0), { message: /empty/ }))

  it('file shorter than the 8-byte length field', () =>
    expectRejected('short.safetensors', Uint8Array.of(1, 2, 3), { message: /3 bytes, too short/ }))

  it('header length larger than the file', () =>
    expectRejected('long-header.safetensors', craftSafetensors({}, new Uint8Array(0), 4096n), { message: /header length 4096 bytes is larger than the 2 bytes/ }))

  it('header length over 100 MB, refused before any allocation', () =>
    expectRejected('huge-header.safetensors', craftSafetensors({}, new Uint8Array(0), BigInt(maxHeaderBytes) + 1n), { message: /exceeds the 100000000-byte limit/ }))

  it('header length that does not fit 53 bits', () =>
    expectRejected('u64-header.safetensors', craftSafetensors({}, new Uint8Array(0), 2n ** 64n - 1n), { message: /exceeds/ }))

  it('invalid JSON', () => expectRejected('bad-json.safetensors', craftSafetensors('{"a": {"dtype": '), { message: /not valid JSON/ }))

  it('invalid UTF-8', () => {
    const bytes = craftSafetensors('{"x":1}  ')
    bytes[10] = 0xff
    return expectRejected('bad-utf8.safetensors', bytes, { message: /not valid UTF-8/ })
  })

  it('JSON that is not an object', () => expectRejected('array.safetensors', craftSafetensors('[1, 2]'), { message: /not an object/ }))

  it('unknown dtype', () =>
    expectRejected('dtype.safetensors', craftSafetensors({ w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)), {
      tensor: 'w',
      message: /unknown dtype "F8_E4M3"/
    }))

  it('negative shape', () =>
    expectRejected('negative.safetensors', craftSafetensors({ w: { dtype: 'U8', shape: [-2], data_offsets: [0, 2] } }, eightBytes.subarray(0, 2)), {
      tensor: 'w',
      message: /non-negative integers/
    }))

  it('non-integer shape', () =>
    expectRejected('fraction.safetensors', craftSafetensors({ w: { dtype: 'U8', shape: [1.5, 2], data_offsets: [0, 3] } }, eightBytes.subarray(0, 3)), {
      tensor: 'w',
      message: /non-negative integers/
    }))

  it('offsets past the end of the file (truncated file)', () =>
    expectRejected('truncated.safetensors', craftSafetensors({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, eightBytes), {
      tensor: 'w',
      message: /past the end of the data section \(8 bytes\): the file is truncated/
    }))

  it('offsets that end before they begin', () =>
    expectRejected('reversed.safetensors', craftSafetensors({ w: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, eightBytes), {
      tensor: 'w',
      message: /end before they begin/
    }))

  it('overlapping tensors', () =>
    expectRejected(
      'overlap.safetensors',
      craftSafetensors(
        { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } },
        eightBytes
      ),
      { tensor: 'b', message: /overlap tensor "a"/ }
    ))

  it('a gap between tensors', () =>
    expectRejected(
      'gap.safetensors',
      craftSafetensors(
        { a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [4], data_offsets: [4, 8] } },
        eightBytes
      ),
      { tensor: 'b', message: /leave bytes \[2, 4\) of the data section unused/ }
    ))

  it('a data section that does not start at 0', () =>
    expectRejected('late-start.safetensors', craftSafetensors({ a: { dtype: 'U8', shape: [6], data_offsets: [2, 8] } }, eightBytes), {
      tensor: 'a',
      message: /unused/
    }))

  it('trailing bytes after the last tensor', () =>
    expectRejected('trailing.safetensors', craftSafetensors({ a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } }, eightBytes), {
      message: /tensors index 4 bytes but the data section holds 8/
    }))

  it('shape × dtype size different from the byte length', () =>
    expectRejected('size.safetensors', craftSafetensors({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, eightBytes), {
      tensor: 'w',
      message: /shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] hold 8/
    }))

  it('__metadata__ with a non-string value', () =>
    expectRejected(
      'metadata.safetensors',
      craftSafetensors({ __metadata__: { format: 'pt', step: 3 }, a: { dtype: 'U8', shape: [8], data_offsets: [0, 8] } }, eightBytes),
      { message: /__metadata__ entry "step" is number 3, but metadata values must be strings/ }
    ))

  it('a missing file', async () => {
    const path = `${tmp}/does-not-exist.safetensors`
    await expectFormatError(openSafetensors(path), { file: path, message: /ENOENT/ })
  })

  it('keeps the message on one line even when the tensor name holds a newline', () =>
    expectRejected('newline.safetensors', craftSafetensors({ 'evil\nname': { dtype: 'X', shape: [], data_offsets: [0, 0] } }), {
      tensor: 'evil\nname',
      message: /unknown dtype/
    }))
})
