import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'vitest'
import { CheckpointFormatError } from '../../../src/main/engine/io'
import { pythonWithNumpy, repoRoot, testTmpRoot, tinyGpt2 } from '../../helpers/paths'

/** The real Hugging Face checkpoint shared by the project (outside the repository, beside it). */
export const gpt2Dir = tinyGpt2
export const ioFixtures = join(repoRoot, 'tests/fixtures/io')
const referenceScript = join(repoRoot, 'tests/reference/safetensors_numpy.py')

/** Run the numpy reference script and parse the JSON it prints. */
export function runReference<T = unknown>(args: string[], input?: string): T {
  const result = spawnSync(pythonWithNumpy(), [referenceScript, ...args], { input, encoding: 'utf8', maxBuffer: 256 << 20 })
  if (result.error) throw result.error
  if (result.status !== 0) throw new Error(`safetensors_numpy.py ${args.join(' ')} failed (${result.status}):\n${result.stderr}`)
  return JSON.parse(result.stdout) as T
}

export interface ReferenceTensor {
  name: string
  dtype: string
  shape: number[]
  dataOffsets: [number, number]
  hex?: string
  float64Hex?: string
  sha256?: string
  sum?: number
  sumOfSquares?: number
}

export interface ReferenceDump {
  metadata: Record<string, string>
  tensors: ReferenceTensor[]
}

export async function makeTempDir(label: string): Promise<string> {
  return mkdtemp(join(testTmpRoot(), `io-${label}-`))
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

export function float64Hex(values: Float64Array): string {
  return hex(new Uint8Array(values.buffer, values.byteOffset, values.byteLength))
}

export function float64FromHex(text: string): Float64Array {
  const bytes = Buffer.from(text, 'hex')
  return new Float64Array(new Uint8Array(bytes).buffer)
}

/**
 * Bytes of a hand-made safetensors file: `header` is serialised as given (a string is used verbatim,
 * so a test can write broken JSON); `headerLength` overrides the length field.
 */
export function craftSafetensors(header: unknown, data: Uint8Array = new Uint8Array(0), headerLength?: bigint): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8')
  const out = new Uint8Array(8 + json.length + data.length)
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true)
  out.set(json, 8)
  out.set(data, 8 + json.length)
  return out
}

export async function writeCrafted(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, bytes)
  return path
}

/** Await a rejection and check it is a one-line CheckpointFormatError naming the file (and tensor). */
export async function expectFormatError(
  promise: Promise<unknown>,
  expected: { file: string; tensor?: string; message?: RegExp }
): Promise<CheckpointFormatError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a CheckpointFormatError, but the call succeeded')
    },
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(CheckpointFormatError)
  const formatError = error as CheckpointFormatError
  expect(formatError.file).toBe(expected.file)
  expect(formatError.message).toContain(expected.file)
  expect(formatError.message).not.toMatch(/[\r\n]/)
  if (expected.tensor !== undefined) {
    expect(formatError.tensor).toBe(expected.tensor)
    expect(formatError.message).toContain(JSON.stringify(expected.tensor))
  }
  if (expected.message) expect(formatError.message).toMatch(expected.message)
  return formatError
}
