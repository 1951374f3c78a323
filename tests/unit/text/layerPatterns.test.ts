import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openCheckpoint, type TensorSource } from '../../../src/main/engine/io'
import { planRun } from '../../../src/main/engine/training/plan'
import type { TrainConfig } from '../../../src/shared/training'
import { compilePattern, matchingTargets } from '../../../src/renderer/src/lib/targetSelection'
import { bertSummary } from '../renderer/fixtures'
import { tinyGpt2 } from '../../helpers/paths'

// Layer patterns come from people (the Layers step, --targets) and from run.json on resume or export:
// every place that matches them runs in bounded time and refuses what it cannot run, naming the field.

const catastrophic = '^(.*.*)*X$'

describe('the Layers step (renderer)', () => {
  it(`${catastrophic} selects nothing, at once, on long module names`, () => {
    const long = bertSummary().targets.map((t) => ({ ...t, name: `${t.name}.${'a'.repeat(200)}` }))
    const { regex, error } = compilePattern(catastrophic)
    expect(error).toBeUndefined()
    const started = performance.now()
    expect(matchingTargets(long, regex).size).toBe(0)
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it('a backreference is shown as the reason it cannot be used', () => {
    expect(compilePattern('(query)\\1')).toEqual({ error: 'the pattern /(query)\\1/ cannot be matched in bounded time: backreferences (\\1, \\k<name>) cannot be matched in bounded time' })
  })
})

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
