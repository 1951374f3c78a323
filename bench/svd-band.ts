// The band SVD (all σ, the vectors of the k smallest only: what SiVA needs) against our full SVD and
// numpy's full np.linalg.svd (LAPACK gesdd on OpenBLAS, all vectors) on the same matrices, in the same
// run: Llama-size shapes with k = 77 (SiVA's k for r = 4096 at 1.9 %). numpy runs with its default
// threads and with one (ours runs on one thread: the analysis pool gives each worker one matrix).
// Accuracy is measured by numpy with BLAS, for ours and for numpy's own band: residuals in units of
// ε·σ_max, orthogonality in units of ε, |Δσ| against numpy, and the angle between the band subspaces.
//   npm run bench:svd-band                 4096×4096, 11008×4096, 4096×11008, k = 77
//   npm run bench:svd-band -- --quick      1024×1024, 2752×1024, 1024×2752, k = 20
//   --skip-full    leave out our full SVD on shapes above 4096×4096 (minutes each); --variant=simd|relaxed-simd;
//   --shape=MxN    run only that shape of the list (e.g. to rerun one on a quieter machine)
import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { bandRouteCheaper, svd, svdBand } from '../src/main/engine/linalg'
import { availableSvdKernelVariants, releaseSvdKernel, svdKernelVariant, useSvdKernelVariant, type SvdKernelVariant } from '../src/main/engine/linalg/svdKernel'
import { blasEnv, describeBlas, type OpenBlasInfo } from './blasCore'
import { loadNote } from './load'
import { fillNormal } from './seededNormal'

const root = fileURLToPath(new URL('..', import.meta.url))
const python = 'python3'
const tmp = join(root, 'bench/.tmp')
const quick = process.argv.includes('--quick')
const skipFull = process.argv.includes('--skip-full')
const shapes: [number, number][] = quick
  ? [
      [1024, 1024],
      [2752, 1024],
      [1024, 2752]
    ]
  : [
      [4096, 4096],
      [11008, 4096],
      [4096, 11008]
    ]
const shapeArg = process.argv.find((arg) => arg.startsWith('--shape='))?.slice('--shape='.length)
const selected = shapeArg ? shapes.filter(([m, n]) => `${m}x${n}` === shapeArg) : shapes
if (selected.length === 0) throw new Error(`--shape=${shapeArg}: not one of ${shapes.map(([m, n]) => `${m}x${n}`).join(', ')}`)
const k = quick ? 20 : 77
const repeats = quick ? 2 : 1
const variantArg = process.argv.find((arg) => arg.startsWith('--variant='))?.slice('--variant='.length)
if (variantArg) useSvdKernelVariant(variantArg as SvdKernelVariant)
const EPS = 2 ** -52

/** N(0, 0.02²) entries, GPT-2's initialisation scale; seeded so runs compare. */
function gptLike(m: number, n: number, seed: number): Float64Array {
  return fillNormal(new Float64Array(m * n), 0.02, seed)
}

/** Best wall time of `repeats` runs (the first run included: at these sizes one run is seconds). */
function best<T>(run: () => T): { seconds: number; value: T } {
  let value: T | undefined
  let seconds = Infinity
  for (let i = 0; i < repeats; i++) {
    const start = performance.now()
    value = run()
    seconds = Math.min(seconds, (performance.now() - start) / 1000)
  }
  return { seconds, value: value! }
}

interface Accuracy {
  residualRight: number
  residualLeft: number
  orthogonalityU: number
  orthogonalityV: number
}

interface NumpyRun {
  seconds: number
  openblas: OpenBlasInfo | null
  numpy: string
  python: string
  sigmaMax?: number
  sigmaBandError?: number
  sigmaAllError?: number
  ours?: Accuracy
  numpyBand?: Accuracy
  gap?: number
  sinU?: number
  sinV?: number
}

const blas = blasEnv(python)
const blasSeen = new Map<string, string>()

function numpy(file: string, m: number, n: number, band: [number, number], oneThread: boolean, ours?: string[]): NumpyRun {
  const env = { ...blas.env }
  if (oneThread) Object.assign(env, { OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' })
  const args = [join(root, 'bench/svd_band_numpy.py'), file, String(m), String(n), String(band[0]), String(band[1]), String(repeats), ...(ours ?? [])]
  const run = spawnSync(python, args, { env, encoding: 'utf8', maxBuffer: 1 << 26 })
  if (run.status !== 0) throw new Error(`numpy failed: ${run.stderr}`)
  const out = JSON.parse(run.stdout) as NumpyRun
  blasSeen.set(`numpy ${out.numpy}${oneThread ? ' 1T' : ''} (${out.python})`, describeBlas(out.openblas, blas))
  return out
}

const fmt = (x: number, digits = 2): string => x.toFixed(digits)
const worstResidual = (a: Accuracy, sMax: number): number => Math.max(a.residualLeft, a.residualRight) / (EPS * sMax)
const worstOrthogonality = (a: Accuracy): number => Math.max(a.orthogonalityU, a.orthogonalityV) / EPS

mkdirSync(tmp, { recursive: true })
console.log(`svd band bench — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, Node ${process.version}`)
console.log(`float64, N(0, 0.02²) entries; band = the k = ${k} smallest σ; ${repeats === 1 ? 'one run each' : `best of ${repeats}`}; ours on one thread`)
console.log(`kernel variant: ${svdKernelVariant()} (available here: ${availableSvdKernelVariants().join(', ')})`)
console.log(`at the start: ${loadNote()}`)
console.log('')
console.log('shape         k   band (s)  ours full (s)  numpy (s)  numpy 1T (s)  full/band  numpy/band  numpy 1T/band  policy')
const accuracyLines: string[] = []
for (const [m, n] of selected) {
  const index = shapes.findIndex(([sm, sn]) => sm === m && sn === n)
  const r = Math.min(m, n)
  const band: [number, number] = [r - k, r]
  const a = gptLike(m, n, 4321 + index)
  const file = join(tmp, `svd-band-${m}x${n}.f64`)
  writeFileSync(file, new Uint8Array(a.buffer))
  const banded = best(() => svdBand(a, m, n, { band, route: 'band' }))
  releaseSvdKernel()
  const fullSkipped = skipFull && m * n > 4096 * 4096
  const full = fullSkipped ? undefined : best(() => svd(a, m, n))
  releaseSvdKernel()
  const ours = [join(tmp, `svd-band-${m}x${n}.u.f64`), join(tmp, `svd-band-${m}x${n}.vt.f64`), join(tmp, `svd-band-${m}x${n}.s.f64`)]
  writeFileSync(ours[0]!, new Uint8Array(banded.value.u.buffer))
  writeFileSync(ours[1]!, new Uint8Array(banded.value.vt.buffer))
  writeFileSync(ours[2]!, new Uint8Array(banded.value.s.buffer))
  const multi = numpy(file, m, n, band, false, ours)
  const single = numpy(file, m, n, band, true)
  for (const path of [file, ...ours]) rmSync(path, { force: true }) // up to 360 MB each
  const sMax = multi.sigmaMax!
  if (!(multi.sigmaAllError! <= 1e-10 * sMax)) throw new Error(`σ disagree with numpy: max |Δσ|/σ_max = ${multi.sigmaAllError! / sMax}`)
  const b = banded.seconds
  console.log(
    [
      `${m}×${n}`.padEnd(11),
      String(k).padStart(3),
      fmt(b, 3).padStart(10),
      (full ? fmt(full.seconds, 3) : 'skipped').padStart(14),
      fmt(multi.seconds, 3).padStart(10),
      fmt(single.seconds, 3).padStart(13),
      (full ? fmt(full.seconds / b) : '–').padStart(10),
      fmt(multi.seconds / b).padStart(11),
      fmt(single.seconds / b).padStart(14),
      (bandRouteCheaper(m, n, k) ? 'band' : 'full').padStart(7)
    ].join(' ')
  )
  accuracyLines.push(
    [
      `${m}×${n}`.padEnd(11),
      fmt(worstResidual(multi.ours!, sMax)).padStart(13),
      fmt(worstResidual(multi.numpyBand!, sMax)).padStart(14),
      fmt(worstOrthogonality(multi.ours!)).padStart(10),
      fmt(worstOrthogonality(multi.numpyBand!)).padStart(11),
      (multi.sigmaBandError! / sMax).toExponential(1).padStart(13),
      (multi.sigmaAllError! / sMax).toExponential(1).padStart(12),
      (multi.gap! / sMax).toExponential(1).padStart(10),
      Math.max(multi.sinU!, multi.sinV!).toExponential(1).padStart(13)
    ].join(' ')
  )
}
console.log('')
console.log('accuracy (measured by numpy): residual max(‖Av−σu‖, ‖Aᵀu−σv‖) / (ε·σ_max); orthogonality max|XᵀX−I| / ε')
console.log('shape        residual ours  residual numpy  orth ours  orth numpy  |Δσ|/σ_max band  all   gap/σ_max  sin∠ vs numpy')
for (const line of accuracyLines) console.log(line)
console.log('')
console.log('band: svdBand(route: band): QR first for tall shapes, bidiagonalisation, all σ by QR iteration, the band by')
console.log('inverse iteration on the Golub–Kahan tridiagonal, back-transformation of k columns. ours full: svd() with vectors.')
console.log('numpy: np.linalg.svd(a, full_matrices=False) (LAPACK gesdd, all vectors), timed inside Python')
for (const [run, line] of blasSeen) console.log(`${run}: ${line}`)
console.log(`at the end: ${loadNote()}`)
