/**
 * safetensors writer. Tensors are written one after another straight to the file (never gathered in
 * one buffer), through a temp file renamed into place.
 */
import { dtypeByteSize, elementCount, isDtype, type Dtype } from './dtypes'
import { CheckpointFormatError } from './errors'
import { writeAll, writeFileAtomically } from './atomicWrite'
import { maxHeaderBytes } from './safetensorsHeader'

type TypedBytes =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array

/**
 * A tensor's data: little-endian bytes (Uint8Array, for any dtype), a typed array that matches the
 * dtype (F16/BF16 as Uint16Array of bits), or a function that produces either when its turn to be
 * written comes, so an exporter can build one tensor at a time.
 */
export type TensorData = TypedBytes | (() => TypedBytes | Promise<TypedBytes>)

export interface TensorToWrite {
  name: string
  dtype: Dtype
  shape: readonly number[]
  data: TensorData
}

/** Typed arrays other than raw bytes must hold the dtype's own elements, or the bytes mean something else. */
const matchingArray: Record<Dtype, string[]> = {
  F64: ['Float64Array'],
  F32: ['Float32Array'],
  F16: ['Uint16Array'],
  BF16: ['Uint16Array'],
  I64: ['BigInt64Array'],
  I32: ['Int32Array'],
  I16: ['Int16Array'],
  I8: ['Int8Array'],
  U8: [],
  BOOL: []
}

/**
 * Write a safetensors file. Data is laid out in the order given, so an exported checkpoint keeps its
 * input's order; the reference writer instead sorts by dtype alignment and then name. Readers find
 * tensors by offset, so both are valid files. The header lists `__metadata__` first, then the tensors
 * in data order, padded with spaces to a multiple of 8 bytes so the data section starts aligned.
 */
export async function writeSafetensors(path: string, tensors: readonly TensorToWrite[], metadata: Record<string, string> = {}): Promise<void> {
  const header = buildHeader(path, tensors, metadata)
  // Data given up front is checked before the temp file exists; produced data is checked as it comes.
  for (const tensor of tensors) if (typeof tensor.data !== 'function') toBytes(path, tensor, tensor.data)
  await writeFileAtomically(path, async (handle) => {
    await writeAll(handle, header)
    for (const tensor of tensors) {
      const data = typeof tensor.data === 'function' ? await tensor.data() : tensor.data
      await writeAll(handle, toBytes(path, tensor, data))
    }
  })
}

function buildHeader(path: string, tensors: readonly TensorToWrite[], metadata: Record<string, string>): Uint8Array {
  // Tensor names are keys here: without a prototype, one named __proto__ stays a key (it vanished).
  const document: Record<string, unknown> = Object.create(null) as Record<string, unknown>
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new CheckpointFormatError(path, `__metadata__ entry ${JSON.stringify(key)} must be a string`)
  }
  if (Object.keys(metadata).length > 0) document.__metadata__ = metadata
  let offset = 0
  for (const tensor of tensors) {
    const fail = (problem: string): never => {
      throw new CheckpointFormatError(path, problem, { tensor: tensor.name })
    }
    if (tensor.name === '' || tensor.name === '__metadata__') fail('is not a valid tensor name')
    if (Object.hasOwn(document, tensor.name)) fail('is given twice')
    if (!isDtype(tensor.dtype)) fail(`unknown dtype ${JSON.stringify(tensor.dtype)}`)
    if (!tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`shape [${tensor.shape.join(', ')}] must hold non-negative integers`)
    const byteLength = byteLengthOf(tensor)
    if (!Number.isSafeInteger(byteLength)) fail(`shape [${tensor.shape.join(', ')}] is too large`)
    document[tensor.name] = { dtype: tensor.dtype, shape: [...tensor.shape], data_offsets: [offset, offset + byteLength] }
    offset += byteLength
  }
  const json = new TextEncoder().encode(JSON.stringify(document))
  const padded = Math.ceil(json.byteLength / 8) * 8
  if (padded > maxHeaderBytes) throw new CheckpointFormatError(path, `header would be ${padded} bytes, over the ${maxHeaderBytes}-byte limit readers enforce`)
  const bytes = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength)
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true)
  bytes.set(json, 8)
  return bytes
}

function byteLengthOf(tensor: TensorToWrite): number {
  return elementCount(tensor.shape) * dtypeByteSize[tensor.dtype]
}

function toBytes(path: string, tensor: TensorToWrite, data: TypedBytes): Uint8Array {
  const kind = Object.prototype.toString.call(data).slice(8, -1)
  const isRawBytes = kind === 'Uint8Array' // Buffer is a Uint8Array too
  if (!isRawBytes && !matchingArray[tensor.dtype].includes(kind)) {
    const expected = ['Uint8Array (bytes)', ...matchingArray[tensor.dtype]].join(' or ')
    throw new CheckpointFormatError(path, `${tensor.dtype} data given as ${kind}; expected ${expected}`, { tensor: tensor.name })
  }
  const expected = byteLengthOf(tensor)
  if (data.byteLength !== expected) {
    throw new CheckpointFormatError(
      path,
      `shape [${tensor.shape.join(', ')}] of ${tensor.dtype} needs ${expected} bytes but the data holds ${data.byteLength}`,
      { tensor: tensor.name }
    )
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}
