// Our float64 SVD (WebAssembly kernel) against numpy's np.linalg.svd (LAPACK gesdd on OpenBLAS) on the
// same matrices, in the same run: numpy with its default threads and with one thread (our SVD runs on
// one thread: the analysis pool gives each worker one matrix). Prints seconds and ratios, and checks that
// both agree on σ so that a fast wrong answer cannot pass.
//   npm run bench:svd            (or: npx tsx bench/svd.ts [--quick] [--variant=simd|relaxed-simd])
// The kernel build is the one svd() picks here (relaxed SIMD where the engine has it) unless --variant names one.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { svd } from '../src/main/engine/linalg'
import { availableSvdKernelVariants, svdKernelVariant, useSvdKernelVariant, type SvdKernelVariant } from '../src/main/engine/linalg/svdKernel'
import { blasEnv, describeBlas, type OpenBlasInfo } from './blasCore'
import { loadNote } from './load'
import { fillNormal } from './seededNormal'

const root = fileURLToPath(new URL('..', import.meta.url))
// The python3 on PATH, as before; its OpenBLAS runs on the best kernels this CPU supports (bench/blasCore.ts).
const python = 'python3'
const tmp = join(root, 'bench/.tmp')
const quick = process.argv.includes('--quick')
const shapes: [number, number][] = [
  [768, 768],
  [768, 2304],
  [768, 3072],
  [3072, 768]
]
const repeats = quick ? 1 : 3
const variantArg = process.argv.find((arg) => arg.startsWith('--variant='))?.slice('--variant='.length)
if (variantArg) useSvdKernelVariant(variantArg as SvdKernelVariant)

/** N(0, 0.02²) entries, GPT-2's initialisation scale; seeded so runs compare. */
function gptLike(m: number, n: number, seed: number): Float64Array {
  return fillNormal(new Float64Array(m * n), 0.02, seed)
}

/** Best wall time of `repeats` runs after one warm-up. */
function best<T>(run: () => T): { seconds: number; value: T } {
  let value = run()
  let seconds = Infinity
  for (let i = 0; i < repeats; i++) {
    const start = performance.now()
    value = run()
    seconds = Math.min(seconds, (performance.now() - start) / 1000)
  }
  return { seconds, value }
}

const NUMPY = `
import json, sys, time
import numpy as np
path, m, n, vectors, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", int(sys.argv[5])
sys.path.insert(0, sys.argv[6])
from openblas_info import openblas_info
a = np.fromfile(path, dtype="<f8").reshape(m, n)
run = (lambda: np.linalg.svd(a, full_matrices=False)[1]) if vectors else (lambda: np.linalg.svd(a, compute_uv=False))
s = run()
best = float("inf")
for _ in range(repeats):
    t = time.perf_counter(); s = run(); best = min(best, time.perf_counter() - t)
print(json.dumps({"seconds": best, "s": s.tolist(), "openblas": openblas_info(), "numpy": np.__version__, "python": sys.executable}))
`

interface NumpyRun {
  seconds: number
  s: number[]
  openblas: OpenBlasInfo | null
  numpy: string
  python: string
}
const blas = blasEnv(python)
const blasSeen = new Map<string, string>()

function numpy(file: string, m: number, n: number, vectors: boolean, oneThread: boolean): NumpyRun {
  const env = { ...blas.env }
  if (oneThread) Object.assign(env, { OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' })
  const run = spawnSync(python, ['-c', NUMPY, file, String(m), String(n), vectors ? '1' : '0', String(repeats), join(root, 'bench')], {
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 26
  })
  if (run.status !== 0) throw new Error(`numpy failed: ${run.stderr}`)
  const out = JSON.parse(run.stdout) as NumpyRun
  blasSeen.set(`numpy ${out.numpy}${oneThread ? ' 1T' : ''} (${out.python})`, describeBlas(out.openblas, blas))
  return out
}

/** max |σᵢ − σᵢ(numpy)| / σ_max; the bench refuses to report numbers above 1e-10. */
function disagreement(ours: Float64Array, reference: number[]): number {
  let worst = 0
  for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - reference[i]) / reference[0])
  if (!(worst <= 1e-10)) throw new Error(`σ disagree with numpy: max |Δσ|/σ_max = ${worst}`)
  return worst
}

mkdirSync(tmp, { recursive: true })
console.log(`svd bench — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, Node ${process.version}`)
console.log(`float64, N(0, 0.02²) entries, thin SVD; best of ${repeats} after one warm-up; ours on one thread`)
console.log(`kernel variant: ${svdKernelVariant()} (available here: ${availableSvdKernelVariants().join(', ')})`)
console.log(`at the start: ${loadNote()}`)
console.log('')
const header = 'shape        mode          ours (s)  numpy (s)  numpy 1T (s)  ours/numpy  ours/numpy 1T  max |Δσ|/σ_max'
console.log(header)
for (const vectors of [true, false]) {
  for (const [index, [m, n]] of shapes.entries()) {
    const a = gptLike(m, n, 1234 + index)
    const file = join(tmp, `svd-${m}x${n}.f64`)
    writeFileSync(file, new Uint8Array(a.buffer))
    const ours = best(() => svd(a, m, n, { vectors }))
    const multi = numpy(file, m, n, vectors, false)
    const single = numpy(file, m, n, vectors, true)
    const delta = Math.max(disagreement(ours.value.s, multi.s), disagreement(ours.value.s, single.s))
    console.log(
      [
        `${m}×${n}`.padEnd(11),
        (vectors ? 'with vectors' : 'values only').padEnd(12),
        ours.seconds.toFixed(3).padStart(9),
        multi.seconds.toFixed(3).padStart(10),
        single.seconds.toFixed(3).padStart(13),
        (ours.seconds / multi.seconds).toFixed(2).padStart(11),
        (ours.seconds / single.seconds).toFixed(2).padStart(14),
        delta.toExponential(1).padStart(15)
      ].join(' ')
    )
  }
}
console.log('')
console.log('numpy: np.linalg.svd(a, full_matrices=False) / compute_uv=False (LAPACK gesdd), timed inside Python')
for (const [run, line] of blasSeen) console.log(`${run}: ${line}`)
console.log(`at the end: ${loadNote()}`)
