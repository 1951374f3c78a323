import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { gemmSplitCount, gemmThreads, installFastMatMul, sgemm, startGemmHelpers } from '../../../src/main/engine/backend/fastMatMul'
import { startGemmThreads } from '../../../src/main/workers/gemmThreads'
import { spawnWorker, workerEntry } from '../../../src/main/workers/spawn'
import { SOURCE_SHA256 } from '../../../src/main/engine/backend/wasm/gemmWasm.generated'
import { pythonWithNumpy, repoRoot } from '../../helpers/paths'
import { wasmSourceHash } from '../../helpers/sourceHash'

/** numpy's float64 product of the same float32 operands: the reference. */
function numpyMatMul(a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], transA: boolean, transB: boolean): Float64Array {
  const script = `
import json, sys, numpy as np
r = json.load(sys.stdin)
a = np.array(r['a'], dtype=np.float32).astype(np.float64).reshape(r['as'])
b = np.array(r['b'], dtype=np.float32).astype(np.float64).reshape(r['bs'])
if r['ta']: a = np.swapaxes(a, -1, -2)
if r['tb']: b = np.swapaxes(b, -1, -2)
print(json.dumps(np.matmul(a, b).reshape(-1).tolist()))
`
  const run = spawnSync(pythonWithNumpy(), ['-c', script], { input: JSON.stringify({ a: [...a], as: aShape, b: [...b], bs: bShape, ta: transA, tb: transB }), encoding: 'utf8', maxBuffer: 1 << 28 })
  if (run.status !== 0) throw new Error(run.stderr)
  return Float64Array.from(JSON.parse(run.stdout) as number[])
}

function values(count: number, seed: number): Float32Array {
  let state = seed
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 4294967296 - 0.5
  })
}

const relativeError = (got: ArrayLike<number>, want: Float64Array): number => {
  let worst = 0
  let scale = 0
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!))
    scale = Math.max(scale, Math.abs(want[i]!))
  }
  return worst / scale
}

beforeAll(async () => {
  await tf.setBackend('wasm')
})

describe('the float32 matmul kernel', () => {
  it.each([
    [1, 1, 1],
    [3, 5, 7],
    [64, 64, 64],
    [67, 131, 259],
    [9, 2050, 300]
  ])('m = %i, k = %i, n = %i, in every transpose, against numpy', (m, k, n) => {
    for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a = values(m * k, m + 3 * k)
      const b = values(k * n, n + 7 * k)
      const got = sgemm(a, b, m, n, k, transA, transB)
      const want = numpyMatMul(a, transA ? [k, m] : [m, k], b, transB ? [n, k] : [k, n], transA, transB)
      expect(relativeError(got, want), `${m}×${k}×${n} ${transA} ${transB}`).toBeLessThan(1e-5)
    }
  })

  it('replaces tfjs BatchMatMul on wasm: batched, broadcast and transposed products still agree with numpy', () => {
    installFastMatMul()
    const cases: [number[], number[], boolean, boolean][] = [
      [[2, 3, 9, 8], [2, 3, 8, 10], false, false],
      [[8, 16, 12], [12, 5], false, false],
      [[7, 6], [3, 7, 4], true, false],
      [[4, 5, 6], [4, 7, 6], false, true]
    ]
    for (const [as, bs, ta, tb] of cases) {
      const a = values(as.reduce((x, y) => x * y, 1), 11)
      const b = values(bs.reduce((x, y) => x * y, 1), 13)
      const got = tf.tidy(() => tf.matMul(tf.tensor(a, as), tf.tensor(b, bs), ta, tb).dataSync())
      expect(relativeError(got, numpyMatMul(a, as, b, bs, ta, tb)), JSON.stringify([as, bs, ta, tb])).toBeLessThan(1e-5)
    }
  })
})

describe('the matmul on several threads (real worker threads on one shared memory)', () => {
  const shapes: [number, number, number][] = [
    [130, 97, 300], // rows not a multiple of 4 or of the thread count
    [512, 64, 256]
  ]
  it('splits large products by rows of C: the same bits as one thread, and numpy to 1e-5, in every transpose', async () => {
    const single = new Map<string, Float32Array>()
    for (const [m, k, n] of shapes) {
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) single.set(`${m} ${k} ${n} ${ta} ${tb}`, sgemm(values(m * k, m + k), values(k * n, n + 3 * k), m, n, k, ta, tb))
    }
    const stop = startGemmThreads(3)
    const splitBefore = gemmSplitCount()
    try {
      expect(gemmThreads()).toBe(3)
      for (const [m, k, n] of shapes) {
        for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
          const a = values(m * k, m + k)
          const b = values(k * n, n + 3 * k)
          const got = sgemm(a, b, m, n, k, ta, tb)
          expect(Buffer.from(got.buffer).equals(Buffer.from(single.get(`${m} ${k} ${n} ${ta} ${tb}`)!.buffer)), `${m}×${k}×${n} ${ta} ${tb}`).toBe(true)
          expect(relativeError(got, numpyMatMul(a, ta ? [k, m] : [m, k], b, tb ? [n, k] : [k, n], ta, tb))).toBeLessThan(1e-5)
        }
      }
      // tfjs through the replaced kernel: a batch split across threads, and a broadcast one.
      installFastMatMul()
      for (const [as, bs] of [[[6, 64, 96], [6, 96, 128]], [[3, 200, 64], [64, 300]]] as const) {
        const a = values(as.reduce((x, y) => x * y, 1), 5)
        const b = values(bs.reduce((x, y) => x * y, 1), 6)
        const got = tf.tidy(() => tf.matMul(tf.tensor(a, [...as]), tf.tensor(b, [...bs])).dataSync())
        expect(relativeError(got, numpyMatMul(a, [...as], b, [...bs], false, false)), JSON.stringify([as, bs])).toBeLessThan(1e-5)
      }
      // Every product above went over the threads (8 by rows, 2 by batch items).
      expect(gemmSplitCount() - splitBefore).toBe(10)
    } finally {
      await stop()
    }
    expect(gemmThreads()).toBe(1)
  }, 60_000)

  it('a helper that dies mid-run: the product is still right, computed on the calling thread, and threads are dropped', async () => {
    const workers: import('node:worker_threads').Worker[] = []
    const stop = startGemmHelpers(1, (data) => {
      const worker = spawnWorker(workerEntry('gemmWorker', new URL('../../../src/main/workers/spawn.ts', import.meta.url).href), { workerData: data })
      let alive = true
      worker.on('exit', () => (alive = false))
      workers.push(worker)
      return { alive: () => alive, stop: () => worker.terminate().then(() => undefined) }
    })
    const [m, k, n] = [256, 128, 256]
    const a = values(m * k, 1)
    const b = values(k * n, 2)
    const want = sgemm(a, b, m, n, k)
    await workers[0]!.terminate()
    const got = sgemm(a, b, m, n, k)
    expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true)
    expect(gemmThreads()).toBe(1)
    await stop()
  }, 60_000)
})

describe('the committed kernel', () => {
  it('gemmWasm.generated.ts was built from the current C sources (npm run build:wasm)', () => {
    expect(SOURCE_SHA256).toBe(wasmSourceHash(join(repoRoot, 'src/main/engine/backend/wasm')))
  })
})
