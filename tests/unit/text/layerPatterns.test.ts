import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openCheckpoint, type TensorSource } from '../../../src/main/engine/io'
import { planRun } from '../../../src/main/engine/training/plan'
import type { TrainConfig } from '../../../src/shared/training'
import { tinyGpt2 } from '../../helpers/paths'

// Layer patterns come from people (--targets, the Layers step: tests/unit/renderer/layerPatternBound.test.ts)
// and from run.json on resume or export: matched in bounded time, refused naming the field.

const catastrophic = '^(.*.*)*X$'

describe('planRun (training, resume and export read run.json through it)', () => {
  let source: TensorSource
  beforeAll(async () => {
    source = await openCheckpoint(tinyGpt2)
  })
  afterAll(async () => {
    await source.close()
  })
  const config = (extra: Partial<TrainConfig>): TrainConfig => ({ model: tinyGpt2, data: 'unused.csv', task: 'classify', method: 'siva', ...extra }) as TrainConfig

  it(`targets ${catastrophic}: "no target matches" at once`, () => {
    const started = performance.now()
    expect(() => planRun(config({ targets: catastrophic }), source)).toThrow(/^no target matches/)
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it('an override pattern with a backreference is refused, naming the field', () => {
    expect(() => planRun(config({ overrides: [{ pattern: 'attn', k: 2 }, { pattern: '(c_)\\1', skip: true }] }), source)).toThrow(/^overrides\[1\]\.pattern: the pattern \/\(c_\)\\1\/ cannot be matched in bounded time/)
  })

  it('patterns still select what RegExp selects', () => {
    const plan = planRun(config({ targets: 'attn\\.c_attn\\.(q|v)$', overrides: [{ pattern: '\\.h\\.0\\.', skip: true }] }), source)
    const expected = plan.allTargets.map((t) => t.name).filter((name) => /attn\.c_attn\.(q|v)$/.test(name) && !/\.h\.0\./.test(name))
    expect(expected.length).toBeGreaterThan(0)
    expect(plan.targets.map((t) => t.name)).toEqual(expected)
  })
})
