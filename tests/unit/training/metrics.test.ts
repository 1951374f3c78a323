import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { accuracy, f1, matthews, pearson, perplexity, spearman } from '../../../src/main/engine/training/metrics'
import { repoRoot } from '../../helpers/paths'

/** scikit-learn and scipy (Debian's python3-sklearn under /usr/bin/python3). */
function reference(cases: unknown[]): Record<string, number>[] {
  const run = spawnSync('/usr/bin/python3', [join(repoRoot, 'tests/reference/metrics_reference.py')], { input: JSON.stringify(cases), encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`metrics_reference.py failed (needs /usr/bin/python3 with scikit-learn and scipy: apt-get install python3-sklearn):\n${run.stderr}${run.error?.message ?? ''}`)
  return JSON.parse(run.stdout) as Record<string, number>[]
}

function draws(count: number, seed: number, classes: number): number[] {
  let state = seed
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % classes
  })
}

describe('metrics against scikit-learn and scipy', () => {
  it('accuracy, F1 (binary and macro) and Matthews on random and skewed predictions', () => {
    const cases = [
      { kind: 'classes', classes: 2, actual: draws(200, 1, 2), predicted: draws(200, 2, 2) },
      { kind: 'classes', classes: 2, actual: draws(50, 3, 2), predicted: new Array<number>(50).fill(1) },
      { kind: 'classes', classes: 5, actual: draws(300, 4, 5), predicted: draws(300, 4, 5).map((v, i) => (i % 3 === 0 ? (v + 1) % 5 : v)) },
      { kind: 'classes', classes: 4, actual: draws(80, 6, 3), predicted: draws(80, 7, 4) }
    ] as const
    const expected = reference([...cases])
    cases.forEach((c, i) => {
      expect(accuracy(c.predicted, c.actual)).toBeCloseTo(expected[i]!['accuracy']!, 12)
      expect(f1(c.predicted, c.actual, c.classes)).toBeCloseTo(expected[i]!['f1']!, 12)
      expect(matthews(c.predicted, c.actual, c.classes)).toBeCloseTo(expected[i]!['matthews']!, 12)
    })
  })

  it('Pearson and Spearman, with ties', () => {
    const x = draws(120, 9, 50).map((v) => v / 10)
    const y = x.map((v, i) => v * 0.7 + (draws(120, 10, 7)[i]! - 3) / 4)
    const cases = [{ kind: 'values', x, y }, { kind: 'values', x: [1, 2, 2, 3, 5, 5, 5, 8], y: [2, 1, 4, 3, 7, 5, 6, 9] }]
    const expected = reference(cases)
    cases.forEach((c, i) => {
      expect(pearson(c.x, c.y)).toBeCloseTo(expected[i]!['pearson']!, 12)
      expect(spearman(c.x, c.y)).toBeCloseTo(expected[i]!['spearman']!, 12)
    })
  })

  it('perplexity is exp of the mean token loss', () => {
    expect(perplexity(Math.log(42))).toBeCloseTo(42, 12)
  })
})
