// `siva inspect` on GPT-2-small-shaped random weights (48 matrices, 72 SVDs with c_attn split into
// q/k/v) against numpy doing the same reads and SVDs, in the same run. Prints the ratio.
//   npm run bench:inspect [-- --values-only-too]
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { openCheckpoint } from '../src/main/engine/io'
import { inspectSource } from '../src/main/engine/spectra'
import { AnalysisPool } from '../src/main/workers/analysisPool'
import { blasEnv, describeBlas, type OpenBlasInfo } from './blasCore'
import { loadNote } from './load'

const root = fileURLToPath(new URL('..', import.meta.url))
const dir = join(root, 'bench/.tmp/gpt2-small-random')
const file = join(dir, 'model.safetensors')
// The python3 on PATH, as before; its OpenBLAS runs on the best kernels this CPU supports (bench/blasCore.ts).
const python = 'python3'
const blas = blasEnv(python)
const blasSeen = new Set<string>()

if (!existsSync(file)) {
  process.stderr.write('writing GPT-2-small-shaped random weights (tests/reference/make_gpt2_small_random.py)…\n')
  execFileSync('python3', [join(root, 'tests/reference/make_gpt2_small_random.py'), dir], { stdio: 'inherit' })
}

async function ours(valuesOnly: boolean): Promise<{ seconds: number; s: Map<string, number[]> }> {
  const pool = new AnalysisPool()
  const source = await openCheckpoint(dir)
  try {
    const report = await inspectSource(source, {
      runSvd: pool.runSvd,
      valuesOnly,
      concurrency: pool.size * 2,
      onProgress: (p) => process.stderr.write(`\r  ours [${p.done}/${p.total}] ${p.name.padEnd(44)}`)
    })
    process.stderr.write('\n')
    return { seconds: report.seconds, s: new Map(report.tensors.map((t) => [t.name, t.singularValues])) }
  } finally {
    await pool.close()
    await source.close()
  }
}

function numpy(valuesOnly: boolean): { seconds: number; s: Map<string, number[]> } {
  process.stderr.write('  numpy …\n')
  const run = spawnSync(python, [join(root, 'bench/numpy_inspect.py'), file, ...(valuesOnly ? ['--values-only'] : [])], {
    env: blas.env,
    encoding: 'utf8',
    maxBuffer: 1 << 30
  })
  if (run.status !== 0) throw new Error(`numpy reference failed: ${run.stderr}`)
  const out = JSON.parse(run.stdout) as { seconds: number; singularValues: Record<string, number[]>; openblas: OpenBlasInfo | null; numpy: string; python: string }
  blasSeen.add(`numpy ${out.numpy} (${out.python}): ${describeBlas(out.openblas, blas)}`)
  return { seconds: out.seconds, s: new Map(Object.entries(out.singularValues)) }
}

/** Largest |σᵢ − σᵢ(numpy)| / σ_max over all matrices: the bench must not be fast by being wrong. */
function disagreement(a: Map<string, number[]>, b: Map<string, number[]>): number {
  if (a.size !== b.size) throw new Error(`matrix count differs: ours ${a.size}, numpy ${b.size}`)
  let worst = 0
  for (const [name, s] of a) {
    const ref = b.get(name)
    if (!ref || ref.length !== s.length) throw new Error(`${name}: missing or different length in numpy's output`)
    for (let i = 0; i < s.length; i++) worst = Math.max(worst, Math.abs(s[i]! - ref[i]!) / ref[0]!)
  }
  return worst
}

console.log(`siva inspect bench — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, Node ${process.version}`)
console.log('GPT-2-small-shaped random weights: 48 matrices → 72 SVDs (c_attn per q/k/v block), F32 read, float64 SVD')
console.log(`at the start: ${loadNote()}`)
console.log('')
console.log('mode            ours (s)  numpy (s)  ours/numpy  max |Δσ|/σ_max  matrices')
for (const valuesOnly of [false, true]) {
  const a = await ours(valuesOnly)
  const b = numpy(valuesOnly)
  const mode = valuesOnly ? 'values only' : 'with vectors'
  console.log(
    `${mode.padEnd(14)}  ${a.seconds.toFixed(2).padStart(8)}  ${b.seconds.toFixed(2).padStart(9)}  ${(a.seconds / b.seconds).toFixed(2).padStart(10)}  ${disagreement(a.s, b.s).toExponential(1).padStart(15)}  ${a.s.size}`
  )
}
console.log('')
console.log(`ours: ${availableParallelism()} worker threads, one matrix each (wasm SIMD, float64); numpy: LAPACK gesdd/OpenBLAS, its default threads, one matrix at a time`)
for (const line of blasSeen) console.log(line)
console.log(`at the end: ${loadNote()}`)
