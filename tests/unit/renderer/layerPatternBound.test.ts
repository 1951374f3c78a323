// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { compilePattern, matchingTargets } from '@renderer/lib/targetSelection'
import { bertSummary } from './fixtures'

// The Layers step matches the pattern as it is typed, on every keystroke: it must answer at once whatever
// is typed, and say why a pattern cannot be used.

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
