import { describe, expect, it } from 'vitest'
import { isInside } from '../../../src/main/engine/export/outputGuard'

/** The one comparison every "never replace X or a folder holding X" rule rests on. */
describe('isInside (path.relative, not a string prefix)', () => {
  it('is true for folders below, at any depth, and below the root', () => {
    expect(isInside('/data/runs', '/data/runs/r1')).toBe(true)
    expect(isInside('/data', '/data/runs/r1/checkpoints')).toBe(true)
    expect(isInside('/', '/data')).toBe(true)
    // A name that merely starts with two dots is a child, not the parent.
    expect(isInside('/data', '/data/..hidden')).toBe(true)
  })

  it('is false for the folder itself, its parent, and siblings sharing a prefix', () => {
    expect(isInside('/data/runs', '/data/runs')).toBe(false)
    expect(isInside('/data/runs/r1', '/data/runs')).toBe(false)
    expect(isInside('/data/run', '/data/runs')).toBe(false)
    expect(isInside('/data/runs', '/data/runs-old/r1')).toBe(false)
  })
})
