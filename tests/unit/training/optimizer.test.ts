import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { AdamW, clipToNorm, globalNorm, learningRateFactor, type ScheduleKind } from '../../../src/main/engine/training/optimizer'
import { repoRoot } from '../../helpers/paths'

beforeAll(async () => {
  await tf.setBackend('wasm')
})

function values(count: number, seed: number, scale: number): number[] {
  let state = seed
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return Math.fround((state / 4294967296 - 0.5) * 2 * scale)
  })
}

function torchReference(input: unknown): { params: number[][]; norms: number[] } {
  const run = spawnSync('/usr/bin/python3', [join(repoRoot, 'tests/reference/torch_adamw.py')], { input: JSON.stringify(input), encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`torch_adamw.py failed (needs Debian's python3-torch):\n${run.stderr}${run.error?.message ?? ''}`)
  return JSON.parse(run.stdout) as { params: number[][]; norms: number[] }
}

describe.each([
  ['linear', 3, 1.0],
  ['cosine', 2, 0.05],
  ['constant', 0, null]
] as const)('AdamW with a %s schedule (warmup %d, clip %s) against torch.optim.AdamW', (kind: ScheduleKind, warmup: number, maxNorm: number | null) => {
  it('gives the same parameters after 12 steps, two groups with their own rates and decay', () => {
    const steps = 12
    const shapes = { adapter: [[6], [2, 3]], head: [[4, 2]] } as const
    const initial = { adapter: [values(6, 1, 0.5), values(6, 2, 0.5)], head: [values(8, 3, 0.5)] }
    const groups = [
      { name: 'adapter', lr: 0.01, weight_decay: 0 },
      { name: 'head', lr: 0.003, weight_decay: 0.1 }
    ]
    const sizes = [6, 6, 8]
    const grads = Array.from({ length: steps }, (_, s) => sizes.map((size, p) => values(size, 100 + 7 * s + p, 2)))
    const reference = torchReference({ params: initial, groups, grads, schedule: { kind, warmup, total: steps }, max_norm: maxNorm })

    const variables = {
      adapter: initial.adapter.map((v, i) => tf.variable(tf.tensor(v, [...shapes.adapter[i]!]))),
      head: initial.head.map((v, i) => tf.variable(tf.tensor(v, [...shapes.head[i]!])))
    }
    const optimizer = new AdamW([
      { name: 'adapter', variables: variables.adapter, lr: 0.01, weightDecay: 0 },
      { name: 'head', variables: variables.head, lr: 0.003, weightDecay: 0.1 }
    ])
    const norms: number[] = []
    for (let s = 0; s < steps; s++) {
      const gradients = grads[s]!.map((g, p) => tf.tensor(g, optimizer.variables[p]!.shape))
      let clipped = gradients
      if (maxNorm !== null) {
        const norm = globalNorm(gradients)
        norms.push(norm.dataSync()[0]!)
        norm.dispose()
        clipped = clipToNorm(gradients, norms.at(-1)!, maxNorm)
      }
      optimizer.apply(clipped, learningRateFactor(s, { kind, warmupSteps: warmup, totalSteps: steps }))
      tf.dispose([...gradients, ...clipped])
    }
    optimizer.variables.forEach((v, p) => {
      const got = v.dataSync()
      reference.params[p]!.forEach((want, j) => expect(Math.abs(got[j]! - want), `param ${p}[${j}]`).toBeLessThan(2e-6))
    })
    norms.forEach((n, s) => expect(n).toBeCloseTo(reference.norms[s]!, 5))
    expect(optimizer.step).toBe(steps)
    optimizer.dispose()
    tf.dispose([...variables.adapter, ...variables.head])
  })
})

describe('optimizer state', () => {
  it('saved and loaded, it continues exactly as an uninterrupted run', async () => {
    const make = (): { v: tf.Variable; o: AdamW } => {
      const v = tf.variable(tf.tensor(values(5, 9, 1)))
      return { v, o: new AdamW([{ name: 'all', variables: [v], lr: 0.02, weightDecay: 0.01 }]) }
    }
    const grad = (s: number): tf.Tensor => tf.tensor(values(5, 50 + s, 1))
    const straight = make()
    for (let s = 0; s < 6; s++) straight.o.apply([grad(s)])
    const first = make()
    for (let s = 0; s < 3; s++) first.o.apply([grad(s)])
    const saved = { state: await first.o.state(), value: first.v.dataSync().slice() }
    const second = make()
    second.v.assign(tf.tensor(saved.value))
    second.o.load(saved.state)
    for (let s = 3; s < 6; s++) second.o.apply([grad(s)])
    expect([...second.v.dataSync()]).toEqual([...straight.v.dataSync()])
  })
})
