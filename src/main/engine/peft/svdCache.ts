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
 *
 * Asked for a band (SiVA's bottom k, top-k's top k), the worker computes every σ but only that band's
 * vectors (linalg/svdBand.ts, which itself takes the whole SVD where that is cheaper), cached under the band
 * (`<hash>.band-<start>-<end>.svd.safetensors`): a run and its resume or export ask for the same band and
 * so get the same vectors from the same computation. A whole SVD is never sliced for a band: its vectors
 * may differ from the band route's in sign or within a cluster, and a run's basis must not change under it.
 */
export function cachedDecompose(runSvd: SvdRunner, options: DecomposeOptions = {}): Decompose {
  return async (weights, band) => {
    const { outFeatures: m, inFeatures: n, name } = weights.target
    const started = performance.now()
    const key = band === undefined ? weightHash(weights) : `${weightHash(weights)}.band-${band[0]}-${band[1]}`
    const file = options.cacheDir === undefined ? undefined : join(options.cacheDir, `${key}.svd.safetensors`)
    if (file) {
      const cached = await readCached(file, m, n, band)
      if (cached) {
        options.onDecomposed?.(name, 'cache', (performance.now() - started) / 1000)
        return cached
      }
    }
    const result = await runSvd({ name, m, n, matrix: Float64Array.from(weights.weight), vectors: true, returnVectors: true, ...(band && { band }) }, options.signal)
    if (!result.u || !result.vt) throw new Error(`the SVD of ${name} came back without its vectors`)
    if (band && (result.band?.[0] !== band[0] || result.band?.[1] !== band[1])) throw new Error(`the SVD of ${name} came back without the band [${band.join(', ')}) it was asked for`)
    const decomposition: Decomposition = { s: result.s, u: result.u, vt: result.vt, ...(band && { band: [band[0], band[1]] as [number, number] }) }
    if (file) {
      await mkdir(options.cacheDir!, { recursive: true })
      const r = result.s.length
      const k = band ? band[1] - band[0] : r
      await writeSafetensors(file, [
        { name: 's', dtype: 'F64', shape: [r], data: decomposition.s },
        { name: 'u', dtype: 'F64', shape: [m, k], data: decomposition.u },
        { name: 'vt', dtype: 'F64', shape: [k, n], data: decomposition.vt }
      ], { shape: `${m}x${n}`, ...(band && { band: `${band[0]}-${band[1]}` }) })
    }
    options.onDecomposed?.(name, 'computed', (performance.now() - started) / 1000)
    return decomposition
  }
}

async function readCached(file: string, m: number, n: number, band: [number, number] | undefined): Promise<Decomposition | undefined> {
  let reader
  try {
    reader = await openSafetensors(file)
  } catch {
    return undefined
  }
  try {
    const r = Math.min(m, n)
    const k = band ? band[1] - band[0] : r
    const shapes = new Map(reader.tensors.map((t) => [t.name, t.shape.join('x')]))
    if (shapes.get('s') !== `${r}` || shapes.get('u') !== `${m}x${k}` || shapes.get('vt') !== `${k}x${n}`) return undefined
    const decomposition: Decomposition = { s: await reader.readFloat64('s'), u: await reader.readFloat64('u'), vt: await reader.readFloat64('vt') }
    if (band) decomposition.band = [band[0], band[1]]
    return decomposition
  } catch {
    return undefined
  } finally {
    await reader.close()
  }
}
