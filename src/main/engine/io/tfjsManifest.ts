/**
 * The weightsManifest of a TensorFlow.js model.json: groups of weights, each group stored back to
 * back across its shard files. Shapes, dtypes and quantisation are checked here; bytes are read elsewhere.
 */
import { isAbsolute } from 'node:path'
import { elementCount, type Dtype } from './dtypes'
import { CheckpointFormatError } from './errors'
import { readJsonObject } from './jsonFile'
import type { TfjsQuantization } from './tensorSource'

/** tfjs dtypes we can read, as the Dtype they are read as. */
export const readableDtypes: Record<string, Dtype> = { float32: 'F32', int32: 'I32', bool: 'BOOL' }
/** Bytes per stored element, by tfjs dtype or quantisation dtype (strings have no fixed size). */
export const storedBytes: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 }

export interface ManifestWeight {
  name: string
  shape: number[]
  dtype: string
  quantization?: TfjsQuantization
}

export interface ManifestGroup {
  paths: string[]
  weights: ManifestWeight[]
}

export async function readModelJson(modelJson: string): Promise<Record<string, unknown>> {
  const document = await readJsonObject(modelJson)
  if (!Array.isArray(document['weightsManifest'])) {
    throw new CheckpointFormatError(modelJson, 'has no weightsManifest list: not a TensorFlow.js model.json')
  }
  return document
}

/** A few descriptive fields of model.json, as string metadata. */
export function describeModelJson(document: Record<string, unknown>): Record<string, string> {
  const metadata: Record<string, string> = {}
  for (const key of ['format', 'generatedBy', 'convertedBy']) {
    const value = document[key]
    if (typeof value === 'string') metadata[key] = value
  }
  return metadata
}

export function parseManifest(modelJson: string, manifest: unknown): ManifestGroup[] {
  return (manifest as unknown[]).map((group, index) => {
    const fail = (problem: string, tensor?: string): never => {
      throw new CheckpointFormatError(modelJson, `weightsManifest[${index}] ${problem}`, { tensor })
    }
    if (typeof group !== 'object' || group === null) fail('is not an object')
    const { paths, weights } = group as Record<string, unknown>
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string' && p !== '')) fail('needs "paths": a list of file names')
    if (!Array.isArray(weights)) fail('needs "weights": a list of weight entries')
    for (const p of paths as string[]) {
      if (isAbsolute(p) || /^[a-z][a-z0-9+.-]*:/i.test(p)) fail(`path ${JSON.stringify(p)} is not a file name relative to model.json`)
    }
    return { paths: paths as string[], weights: (weights as unknown[]).map((w) => parseWeight(w, fail)) }
  })
}

function parseWeight(value: unknown, fail: (problem: string, tensor?: string) => never): ManifestWeight {
  if (typeof value !== 'object' || value === null) fail('has a weight entry that is not an object')
  const { name, shape, dtype, quantization } = value as Record<string, unknown>
  if (typeof name !== 'string') return fail('has a weight without a name')
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`shape ${JSON.stringify(shape)} must be a list of non-negative integers`, name)
  if (typeof dtype !== 'string' || !(dtype in readableDtypes || dtype === 'string' || dtype === 'complex64')) {
    fail(`dtype ${JSON.stringify(dtype)} is not a TensorFlow.js weight dtype (float32, int32, bool, string, complex64)`, name)
  }
  const weight: ManifestWeight = { name, shape: [...(shape as number[])], dtype: dtype as string }
  if (quantization !== undefined) weight.quantization = parseQuantization(quantization, name, fail)
  return weight
}

function parseQuantization(value: unknown, name: string, fail: (problem: string, tensor?: string) => never): TfjsQuantization {
  const { dtype, scale, min } = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>
  if (dtype === 'float16') return { dtype }
  if (dtype !== 'uint8' && dtype !== 'uint16') return fail(`quantization dtype ${JSON.stringify(dtype)} is not uint8, uint16 or float16`, name)
  if (typeof scale !== 'number' || typeof min !== 'number') return fail(`${dtype} quantization needs numeric "scale" and "min"`, name)
  return { dtype, scale, min }
}

export function storedByteLength(weight: ManifestWeight): number {
  return elementCount(weight.shape) * storedBytes[weight.quantization?.dtype ?? weight.dtype]!
}

/** Why a listed weight cannot be read as numbers, or undefined when it can. */
export function unreadableReason(weight: ManifestWeight): string | undefined {
  if (weight.dtype === 'string') return 'string tensor: holds text, not numbers'
  if (weight.dtype === 'complex64') return 'complex64 tensor: complex weights are not supported'
  const q = weight.quantization
  if (q?.dtype === 'float16' && weight.dtype !== 'float32') return `float16 quantization of a ${weight.dtype} weight (tfjs allows it for float32 only)`
  if (q && weight.dtype === 'bool') return `${q.dtype} quantization of a bool weight is not defined by tfjs`
  return undefined
}

