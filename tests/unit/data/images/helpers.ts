import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { expect } from 'vitest'
import type { DataProblem } from '../../../../src/main/engine/data'
import { pythonWithNumpy, repoRoot } from '../../../helpers/paths'

export const imageFixtures = join(repoRoot, 'tests/fixtures/data/images')
export const imageFixture = (...parts: string[]): string => join(imageFixtures, ...parts)

let python: string | undefined
/**
 * A python3 with numpy and Pillow: the one on PATH, else Debian's. Without one the reference checks fail
 * (never skip), saying what to install.
 */
export function pythonWithPil(): string {
  if (python) return python
  pythonWithNumpy()
  for (const candidate of ['python3', '/usr/bin/python3']) {
    if (spawnSync(candidate, ['-c', 'import numpy, PIL'], { stdio: 'ignore' }).status === 0) return (python = candidate)
  }
  throw new Error('the image reference checks need python3 with numpy and Pillow (apt-get install python3-numpy python3-pil)')
}

export interface PilImage {
  width: number
  height: number
  /** height·width·3 bytes, interleaved RGB. */
  rgb: Uint8Array
  /** normalize mode: [3, height, width] float64. */
  chw?: Float64Array
}

/** Run tests/reference/image_reference.py (Pillow as Hugging Face uses it). */
export function pil(args: (string | number)[]): PilImage {
  const script = join(repoRoot, 'tests/reference/image_reference.py')
  const result = spawnSync(pythonWithPil(), [script, ...args.map(String)], { encoding: 'utf8', maxBuffer: 256 << 20 })
  if (result.error) throw result.error
  if (result.status !== 0) throw new Error(`image_reference.py ${args.join(' ')} failed (${result.status}):\n${result.stderr}`)
  const parsed = JSON.parse(result.stdout) as { width: number; height: number; rgb: string; chw?: string }
  const rgb = new Uint8Array(Buffer.from(parsed.rgb, 'base64'))
  const image: PilImage = { width: parsed.width, height: parsed.height, rgb }
  if (parsed.chw !== undefined) {
    const bytes = Buffer.from(parsed.chw, 'base64')
    image.chw = new Float64Array(new Uint8Array(bytes).buffer)
  }
  return image
}

/** Mean and largest absolute difference of two equally long arrays. */
export function difference(actual: ArrayLike<number>, expected: ArrayLike<number>): { mean: number; max: number } {
  expect(actual.length).toBe(expected.length)
  let sum = 0
  let max = 0
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!)
    sum += d
    if (d > max) max = d
  }
  return { mean: sum / expected.length, max }
}

/** Problems as [code, severity, row, field] for compact comparisons. */
export const codes = (problems: DataProblem[]) => problems.filter((p) => p.severity !== 'info').map((p) => p.code)
