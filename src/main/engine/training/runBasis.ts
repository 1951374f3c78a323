import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { openSafetensors, writeJsonAtomically, writeSafetensors } from '../io'
import { bandVectorsOf, weightHash, type Adapter, type Decompose, type Decomposition } from '../peft'

/**
 * The singular vectors a run's δ lives on, kept with the run. δᵢ means "this much along uᵢvᵢᵀ": where
 * singular values cluster, another SVD of the same weight (a cleared cache, another machine's kernel) may
 * return another basis of the cluster, and the same δ would silently act on other directions. So the band's
 * vectors are stored once, when the run starts, and resume and export use them instead of a new SVD.
 *
 *   basis.safetensors   per target: `NAME.s` (every σ), `NAME.u_band` [out, k], `NAME.vt_band` [k, in], float64
 *   basis.json          per target: the weight's sha256, the band, the vectors' sha256; written last
 *
 * Size: the band's vectors cost k·(m + n)·8 bytes per matrix — for SiVA at 10 % about a tenth of the SVD
 * cache's entry for the same matrix, 23 MB for BERT-base's default targets. Above `vectorLimitBytes` (a
 * large model, or SVDiff's full bases) only the hashes are kept: a resume or export whose SVD gives other
 * vectors is then refused, naming the target, instead of training or exporting on the wrong directions.
 */

export const basisFileName = 'basis.json'
export const basisTensorsName = 'basis.safetensors'
const format = 'siva-run-basis'
export const defaultVectorLimitBytes = 256 * 1024 * 1024

interface BasisTarget {
  name: string
  shape: [number, number]
  /** sha256 of the weight the SVD was taken of (peft's weightHash). */
  weight: string
  band: [number, number]
  /** sha256 of u_band then vt_band, float64 little-endian bytes, each vector pair's sign fixed (vectorsHash). */
  vectors: string
}

interface BasisDocument {
  format: typeof format
  version: 1
  /** Whether basis.safetensors holds the vectors, or only their hashes are kept. */
  stored: boolean
  /** Who computed the SVD (the app's version), for the message when a new one disagrees. */
  computedBy?: string
  targets: BasisTarget[]
}

/** A decompose that remembers what it returned for each target (and its weight's hash) until the basis is written. */
export function recordingDecompose(decompose: Decompose): { decompose: Decompose; taken: Map<string, { weight: string; svd: Decomposition }> } {
  const taken = new Map<string, { weight: string; svd: Decomposition }>()
  return {
    taken,
    decompose: async (weights, band) => {
      const svd = await decompose(weights, band)
      taken.set(weights.target.name, { weight: weightHash(weights), svd })
      return svd
    }
  }
}

/** The band of an adapter that trains singular values on frozen vectors; undefined for LoRA, full, head. */
const bandOf = (adapter: Adapter): [number, number] | undefined => adapter.spectrum?.band

/** Write the run's basis from the decompositions its adapters were built on. */
export async function writeRunBasis(runDir: string, adapters: readonly Adapter[], taken: ReadonlyMap<string, { weight: string; svd: Decomposition }>, options: { vectorLimitBytes?: number; computedBy?: string } = {}): Promise<void> {
  const banded = adapters.filter((a) => bandOf(a))
  if (banded.length === 0) return
  const parts = banded.map((adapter) => {
    const record = taken.get(adapter.target.name)
    if (!record) throw new Error(`${adapter.target.name}: no SVD was recorded for it; cannot store the run's basis`)
    const { outFeatures: m, inFeatures: n } = adapter.target
    const band = bandOf(adapter)!
    const { ub, vtb } = bandVectorsOf(record.svd, m, n, band, `the SVD of ${adapter.target.name}`)
    return { adapter, record, band, ub, vtb, m, n }
  })
  const bytes = parts.reduce((sum, p) => sum + (p.ub.length + p.vtb.length + p.record.svd.s.length) * 8, 0)
  const stored = bytes <= (options.vectorLimitBytes ?? defaultVectorLimitBytes)
  if (stored) {
    await writeSafetensors(
      join(runDir, basisTensorsName),
      parts.flatMap((p) => [
        { name: `${p.adapter.target.name}.s`, dtype: 'F64' as const, shape: [p.record.svd.s.length], data: p.record.svd.s },
        { name: `${p.adapter.target.name}.u_band`, dtype: 'F64' as const, shape: [p.m, p.band[1] - p.band[0]], data: p.ub },
        { name: `${p.adapter.target.name}.vt_band`, dtype: 'F64' as const, shape: [p.band[1] - p.band[0], p.n], data: p.vtb }
      ]),
      { format }
    )
  }
  const document: BasisDocument = {
    format,
    version: 1,
    stored,
    ...(options.computedBy && { computedBy: options.computedBy }),
    targets: parts.map((p) => ({ name: p.adapter.target.name, shape: [p.m, p.n], weight: p.record.weight, band: p.band, vectors: vectorsHash(p.ub, p.vtb, p.band[1] - p.band[0]) }))
  }
  await writeJsonAtomically(join(runDir, basisFileName), document)
}

/**
 * The decompose a resume or export of this run must use: the stored vectors (checked against the weight
 * they belong to), or, where only hashes were kept, `fallback`'s SVD checked against them. Undefined for a
 * run that stored no basis (trained before bases were kept, or by a method without one).
 */
export async function runBasisDecompose(runDir: string, fallback: Decompose, now?: string): Promise<RunBasis | undefined> {
  const file = join(runDir, basisFileName)
  if (!existsSync(file)) return undefined
  let document: BasisDocument
  try {
    document = JSON.parse(await readFile(file, 'utf8')) as BasisDocument
    if (document.format !== format || !Array.isArray(document.targets)) throw new Error(`not a ${format} file`)
  } catch (error) {
    throw new Error(`${file}: the run's basis cannot be read (${error instanceof Error ? error.message : String(error)}); without it δ cannot be put back on the directions it trained on`, { cause: error })
  }
  const targets = new Map(document.targets.map((t) => [t.name, t]))
  const tensorsFile = join(runDir, basisTensorsName)
  const decompose: Decompose = async (weights, band) => {
    const { name, outFeatures: m, inFeatures: n } = weights.target
    const entry = targets.get(name)
    if (!entry) return fallback(weights, band)
    if (weightHash(weights) !== entry.weight) throw new Error(`${name}: the base weight is not the one this run trained on (its sha256 changed since; was the model folder replaced?); δ belongs to that weight's singular vectors — train a new run on this model`)
    if (!document.stored) {
      // The stored band is asked for: the SVD that trained the run asked for the same one (the same route).
      const svd = await fallback(weights, entry.band)
      const { ub, vtb } = bandVectorsOf(svd, m, n, entry.band, `the SVD of ${name}`)
      if (vectorsHash(ub, vtb, entry.band[1] - entry.band[0]) !== entry.vectors) {
        throw new Error(`${name}: the SVD now gives other singular vectors for the trained band [${entry.band.join(', ')}) than the run trained on (computed by ${document.computedBy ?? 'an earlier version'}${now ? `, now ${now}` : ''}; a cleared SVD cache or another kernel), so δ would act on other directions; restore the SVD cache the run used, or train a new run`)
      }
      return svd
    }
    return storedDecomposition(tensorsFile, entry, m, n)
  }
  const checkBands = (adapters: readonly Adapter[]): void => {
    for (const adapter of adapters) {
      const entry = targets.get(adapter.target.name)
      const band = bandOf(adapter)
      if (entry && band && (band[0] !== entry.band[0] || band[1] !== entry.band[1])) {
        throw new Error(`${adapter.target.name}: the method now trains singular values [${band.join(', ')}) but the run stored the basis of [${entry.band.join(', ')})`)
      }
    }
  }
  return { decompose, checkBands }
}

export interface RunBasis {
  decompose: Decompose
  /** After the adapters are built: each one's band is the one whose vectors were stored. */
  checkBands(adapters: readonly Adapter[]): void
}

/**
 * A decomposition of the run's stored band (every σ, and the band's vectors): the adapter is rebuilt on
 * exactly the directions it trained.
 */
async function storedDecomposition(file: string, entry: BasisTarget, m: number, n: number): Promise<Decomposition> {
  const reader = await openSafetensors(file)
  try {
    const read = async (suffix: string, expected: number): Promise<Float64Array> => {
      const tensorName = `${entry.name}.${suffix}`
      if (!reader.tensors.some((t) => t.name === tensorName)) throw new Error(`${file}: the run's basis has no tensor ${tensorName}`)
      const values = await reader.readFloat64(tensorName)
      if (values.length !== expected) throw new Error(`${file}: tensor ${tensorName} holds ${values.length} values, ${expected} expected`)
      return values
    }
    const r = Math.min(m, n)
    const [start, end] = entry.band
    const k = end - start
    const s = await read('s', r)
    const ub = await read('u_band', m * k)
    const vtb = await read('vt_band', k * n)
    if (vectorsHash(ub, vtb, k) !== entry.vectors) throw new Error(`${file}: the stored vectors of ${entry.name} do not match their hash in ${basisFileName} (the file was changed or damaged)`)
    return { s, u: ub, vt: vtb, band: [start, end] }
  } finally {
    await reader.close()
  }
}

/**
 * sha256 of the band's vectors with each pair's sign fixed (the largest |entry| of uⱼ positive): flipping
 * uⱼ and vⱼ together leaves uⱼδⱼvⱼᵀ unchanged, and SVD kernels differ in exactly that, so it must not count.
 */
function vectorsHash(ub: Float64Array, vtb: Float64Array, k: number): string {
  const m = k === 0 ? 0 : ub.length / k
  const n = k === 0 ? 0 : vtb.length / k
  const u = Float64Array.from(ub)
  const vt = Float64Array.from(vtb)
  for (let j = 0; j < k; j++) {
    let largest = 0
    for (let i = 0; i < m; i++) if (Math.abs(u[i * k + j]!) > Math.abs(largest)) largest = u[i * k + j]!
    if (largest >= 0) continue
    for (let i = 0; i < m; i++) u[i * k + j] = -u[i * k + j]!
    for (let c = 0; c < n; c++) vt[j * n + c] = -vt[j * n + c]!
  }
  const bytes = (a: Float64Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  return createHash('sha256').update(bytes(u)).update(bytes(vt)).digest('hex')
}

/** Below this relative gap the band's edge is ill-defined: SVDs may disagree about which vectors are in it. */
export const tinyEdgeGap = 1e-6

/**
 * Targets whose band edge falls inside a cluster of singular values: (σ_out − σ_in) / σ_out below
 * tinyEdgeGap between the last value outside the band and the first inside it, at each edge.
 */
export function edgeGapWarnings(adapters: readonly Adapter[]): string[] {
  const warnings: string[] = []
  for (const adapter of adapters) {
    const spectrum = adapter.spectrum
    if (!spectrum) continue
    const s = spectrum.before
    const [start, end] = spectrum.band
    for (const [outside, inside] of [[start - 1, start], [end, end - 1]] as const) {
      if (outside < 0 || outside >= s.length || inside < 0 || inside >= s.length) continue
      const a = s[outside]!
      const b = s[inside]!
      const scale = Math.max(Math.abs(a), Math.abs(b))
      const gap = scale === 0 ? 0 : Math.abs(a - b) / scale
      if (gap < tinyEdgeGap) {
        warnings.push(`${adapter.target.name}: the band's edge falls in a cluster of singular values (σ${outside + 1} = ${a.toPrecision(6)} outside, σ${inside + 1} = ${b.toPrecision(6)} inside, relative gap ${gap.toExponential(1)}): another SVD could pick other vectors there; the run keeps the ones it trains on, but k ± 1 would be a better-defined band`)
      }
    }
  }
  return warnings
}
