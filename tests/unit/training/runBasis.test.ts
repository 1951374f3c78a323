import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { svd } from '../../../src/main/engine/linalg'
import type { AdaptableLinear } from '../../../src/main/engine/models/types'
import { bandVectorsOf, singularBandAdapter, type Decompose, type TargetWeights } from '../../../src/main/engine/peft'
import { edgeGapWarnings, recordingDecompose, runBasisDecompose, writeRunBasis } from '../../../src/main/engine/training/runBasis'
import { inProcessDecompose } from '../../helpers/decompose'
import { tempDir } from '../../helpers/paths'

const target: AdaptableLinear = { name: 'layer.0.query', weightTensor: 'layer.0.query.weight', conv1d: false, outFeatures: 6, inFeatures: 4, block: 0, role: 'query' }

/** W = U diag(s) Vᵀ with the given singular values and seeded orthonormal factors (from a QR-like SVD of noise). */
function withSpectrum(s: number[]): TargetWeights {
  let state = 7
  const noise = (count: number): Float64Array => Float64Array.from({ length: count }, () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0), state / 4294967296 - 0.5))
  const left = svd(noise(6 * 4), 6, 4)
  const right = svd(noise(4 * 4), 4, 4)
  const weight = new Float64Array(6 * 4)
  for (let i = 0; i < 6; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 4; k++) weight[i * 4 + j] += left.u![i * 4 + k]! * s[k]! * right.vt![k * 4 + j]!
  return { target, weight }
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

async function adapterOn(weights: TargetWeights, band: [number, number]): Promise<{ taken: ReturnType<typeof recordingDecompose>['taken']; adapter: ReturnType<typeof singularBandAdapter> }> {
  const recorder = recordingDecompose(inProcessDecompose)
  const adapter = singularBandAdapter(weights, await recorder.decompose(weights), band)
  return { taken: recorder.taken, adapter }
}

describe("a run's stored basis", () => {
  it('keeps the vectors when they are small, and gives back exactly the band it stored', async () => {
    const weights = withSpectrum([4, 3, 2, 1])
    const { taken, adapter } = await adapterOn(weights, [2, 4])
    const dir = tempDir('basis-stored')
    await writeRunBasis(dir, [adapter], taken)
    expect(JSON.parse(readFileSync(join(dir, 'basis.json'), 'utf8'))).toMatchObject({ stored: true, targets: [{ name: target.name, band: [2, 4], shape: [6, 4] }] })
    // A decompose that must not be called: the stored vectors answer.
    const never: Decompose = () => Promise.reject(new Error('no SVD should run'))
    const basis = (await runBasisDecompose(dir, never))!
    const pinned = await basis.decompose(weights, [2, 4])
    const fresh = taken.get(target.name)!.svd
    expect(Array.from(pinned.s)).toEqual(Array.from(fresh.s))
    // Every σ, and the stored band's vectors only (u 6×2, vt 2×4), bit for bit the ones trained on.
    expect([pinned.band, pinned.u.length, pinned.vt.length]).toEqual([[2, 4], 12, 8])
    const [a, b] = [bandVectorsOf(pinned, 6, 4, [2, 4]), bandVectorsOf(fresh, 6, 4, [2, 4])]
    expect([Array.from(a.ub), Array.from(a.vtb)]).toEqual([Array.from(b.ub), Array.from(b.vtb)])
    expect(() => bandVectorsOf(pinned, 6, 4, [1, 4])).toThrow(/holds the singular vectors of \[2, 4\), not of the band \[1, 4\)/)
    adapter.dispose()
  })

  it('above the size limit keeps hashes only, and refuses an SVD whose band vectors differ', async () => {
    const weights = withSpectrum([4, 3, 2, 1])
    const { taken, adapter } = await adapterOn(weights, [2, 4])
    const dir = tempDir('basis-hashed')
    await writeRunBasis(dir, [adapter], taken, { vectorLimitBytes: 0, computedBy: 'siva-studio 1.0.0' })
    expect(JSON.parse(readFileSync(join(dir, 'basis.json'), 'utf8'))).toMatchObject({ stored: false })
    expect(existsSync(join(dir, 'basis.safetensors'))).toBe(false)
    const basis = (await runBasisDecompose(dir, inProcessDecompose, 'siva-studio 2.0.0'))!
    await basis.decompose(weights)
    // Another kernel's SVD, signs flipped on one band pair: the same uⱼδⱼvⱼᵀ for every δ, so accepted.
    const flipped: Decompose = async (w) => {
      const d = await inProcessDecompose(w)
      return { s: d.s, u: Float64Array.from(d.u, (x, i) => (i % 4 === 3 ? -x : x)), vt: Float64Array.from(d.vt, (x, i) => (i >= 12 ? -x : x)) }
    }
    await (await runBasisDecompose(dir, flipped))!.decompose(weights)
    // One that differs in the last bits of one band vector: refused, not guessed at, naming the target.
    const rounded: Decompose = async (w) => {
      const d = await inProcessDecompose(w)
      return { ...d, u: Float64Array.from(d.u, (x, i) => (i === 2 ? x * (1 + 1e-15) : x)) }
    }
    const strict = (await runBasisDecompose(dir, rounded, 'siva-studio 2.0.0'))!
    await expect(strict.decompose(weights)).rejects.toThrow('layer.0.query: the SVD now gives other singular vectors for the trained band [2, 4) than the run trained on (computed by siva-studio 1.0.0, now siva-studio 2.0.0')
    adapter.dispose()
  })

  it('warns when the band edge falls in a cluster of singular values, and only then', async () => {
    const apart = await adapterOn(withSpectrum([4, 3, 2, 1]), [2, 4])
    const close = await adapterOn(withSpectrum([4, 3, 2 + 1e-9, 2]), [3, 4])
    expect(edgeGapWarnings([apart.adapter])).toEqual([])
    const warnings = edgeGapWarnings([close.adapter])
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^layer\.0\.query: the band's edge falls in a cluster of singular values \(σ3 = 2\.00000 outside, σ4 = 2\.00000 inside, relative gap [0-9.]+e-10\)/)
    apart.adapter.dispose()
    close.adapter.dispose()
  })
})
