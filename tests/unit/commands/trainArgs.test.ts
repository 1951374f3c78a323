import { describe, expect, it } from 'vitest'
import { parseOverride } from '../../../src/main/commands/train'

describe('siva train --override', () => {
  it('reads REGEX:SETTING, the regex keeping any colons of its own', () => {
    expect(parseOverride('layer\\.11\\.:k=8')).toEqual({ pattern: 'layer\\.11\\.', k: 8 })
    expect(parseOverride('(?:query):perc=0.25')).toEqual({ pattern: '(?:query)', perc: 0.25 })
    expect(parseOverride('value:rank=4')).toEqual({ pattern: 'value', rank: 4 })
    expect(parseOverride('h\\.0\\.:skip')).toEqual({ pattern: 'h\\.0\\.', skip: true })
  })

  it('says what is wrong with a bad one', () => {
    expect(() => parseOverride('query')).toThrow(/takes REGEX:SETTING/)
    expect(() => parseOverride('query:perc=2')).toThrow(/perc=P \(0 < P ≤ 1\)/)
    expect(() => parseOverride('query:k=1.5')).toThrow(/positive integers/)
    expect(() => parseOverride('(:k=2')).toThrow(/--override '\(:k=2'/)
  })
})
