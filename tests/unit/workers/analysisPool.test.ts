import { afterAll, describe, expect, it } from 'vitest'
import { AnalysisPool } from '../../../src/main/workers/analysisPool'
import { TaskCancelledError } from '../../../src/main/workers/pool'

// The real SVD pool: worker threads running the wasm kernel, matrices transferred, not copied.
const pool = new AnalysisPool(2)
afterAll(() => pool.close())

function randomMatrix(m: number, n: number, seed: number): Float64Array {
  let state = seed
  return Float64Array.from({ length: m * n }, () => {
    state = (state * 1103515245 + 12345) % 2147483648
    return state / 2147483648 - 0.5
  })
}

describe('AnalysisPool', () => {
  it('returns U, σ, Vᵀ that rebuild the matrix, and transfers the input away', async () => {
    const [m, n] = [40, 25]
    const a = randomMatrix(m, n, 7)
    const copy = a.slice()
    const result = await pool.runSvd({ name: 'w', m, n, matrix: a, vectors: true, returnVectors: true })
    expect(a.length).toBe(0) // detached: the buffer moved to the worker
    const { s, u, vt } = result
    let error = 0
    let norm = 0
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let x = 0
        for (let k = 0; k < n; k++) x += u![i * n + k]! * s[k]! * vt![k * n + j]!
        error += (x - copy[i * n + j]!) ** 2
        norm += copy[i * n + j]! ** 2
      }
    }
    expect(Math.sqrt(error / norm)).toBeLessThan(1e-13)
    expect(result.seconds).toBeGreaterThanOrEqual(0)
  })

  it('passes the kernel’s input errors through by name', async () => {
    const a = randomMatrix(3, 3, 1)
    a[4] = Number.NaN
    await expect(pool.runSvd({ name: 'bad', m: 3, n: 3, matrix: a, vectors: false })).rejects.toMatchObject({ name: 'SvdInputError' })
  })

  it('cancels a running SVD and still serves the next one', async () => {
    const controller = new AbortController()
    const big = pool.runSvd({ name: 'big', m: 1600, n: 1600, matrix: randomMatrix(1600, 1600, 3), vectors: true }, controller.signal)
    setTimeout(() => controller.abort(), 200)
    await expect(big).rejects.toThrow(TaskCancelledError)
    const small = await pool.runSvd({ name: 'small', m: 2, n: 2, matrix: Float64Array.from([3, 0, 0, 4]), vectors: false })
    expect(Array.from(small.s)).toEqual([4, 3])
  })
})
