import { createHash } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { openSafetensors, writeSafetensors } from '../io'
import type { SvdRunner } from '../spectra/inspect'
import type { Decompose, Decomposition, TargetWeights } from './types'

/** The content hash of a target's weight: same numbers, same key, whichever checkpoint or name they come from. */
export function weightHash(weights: TargetWeights): string {
  const { outFeatures, inFeatures } = weights.target
  return createHash('sha256').update(`${outFeatures}x${inFeatures}:`).update(new Uint8Array(weights.weight.buffer, weights.weight.byteOffset, weights.weight.byteLength)).digest('hex')
}

export interface DecomposeOptions {
  /** Where decompositions are kept between runs; without one, nothing is cached. */
  cacheDir?: string
  signal?: AbortSignal
  /** Called with each decomposition's source: computed now, or read from the cache. */
  onDecomposed?: (target: string, from: 'computed' | 'cache', seconds: number) => void
}

/**
 * SVDs through the host's runner (the worker pool), cached on disk by the weight's content hash: the
 * second run on the same checkpoint reads them back instead of recomputing. Cache files are safetensors
 * (s, u, vt in float64), written to a temp file and renamed, so a crash never leaves half a file; a cache
 * file that cannot be read is recomputed and replaced.
 */
export function cachedDecompose(runSvd: SvdRunner, options: DecomposeOptions = {}): Decompose {
  return async (weights) => {
    const { outFeatures: m, inFeatures: n, name } = weights.target
    const started = performance.now()
    const file = options.cacheDir === undefined ? undefined : join(options.cacheDir, `${weightHash(weights)}.svd.safetensors`)
    if (file) {
      const cached = await readCached(file, m, n)
      if (cached) {
        options.onDecomposed?.(name, 'cache', (performance.now() - started) / 1000)
        return cached
      }
    }
    const result = await runSvd({ name, m, n, matrix: Float64Array.from(weights.weight), vectors: true, returnVectors: true }, options.signal)
    if (!result.u || !result.vt) throw new Error(`the SVD of ${name} came back without its vectors`)
    const decomposition: Decomposition = { s: result.s, u: result.u, vt: result.vt }
    if (file) {
      await mkdir(options.cacheDir!, { recursive: true })
      const r = result.s.length
      await writeSafetensors(file, [
        { name: 's', dtype: 'F64', shape: [r], data: decomposition.s },
        { name: 'u', dtype: 'F64', shape: [m, r], data: decomposition.u },
        { name: 'vt', dtype: 'F64', shape: [r, n], data: decomposition.vt }
      ], { shape: `${m}x${n}` })
    }
    options.onDecomposed?.(name, 'computed', (performance.now() - started) / 1000)
    return decomposition
  }
}

async function readCached(file: string, m: number, n: number): Promise<Decomposition | undefined> {
  let reader
  try {
    reader = await openSafetensors(file)
  } catch {
    return undefined
  }
  try {
    const r = Math.min(m, n)
    const shapes = new Map(reader.tensors.map((t) => [t.name, t.shape.join('x')]))
    if (shapes.get('s') !== `${r}` || shapes.get('u') !== `${m}x${r}` || shapes.get('vt') !== `${r}x${n}`) return undefined
    return { s: await reader.readFloat64('s'), u: await reader.readFloat64('u'), vt: await reader.readFloat64('vt') }
  } catch {
    return undefined
  } finally {
    await reader.close()
  }
}
