// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { blockGroupPattern, compilePattern, matchingTargets, maxPatternLength, moduleSuffix, presetPattern, targetsSetting } from '@renderer/lib/targetSelection'
import { bertSummary, gpt2Summary } from './fixtures'

function selectedBy(pattern: string, targets = bertSummary().targets): string[] {
  return [...matchingTargets(targets, compilePattern(pattern).regex)]
}

describe('selecting targets', () => {
  it('gives each target its module suffix after the block number', () => {
    const [q, , , o, i, out] = bertSummary().targets
    expect(moduleSuffix(q!)).toBe('attention.self.query')
    expect(moduleSuffix(o!)).toBe('attention.output.dense')
    expect(moduleSuffix(i!)).toBe('intermediate.dense')
    expect(moduleSuffix(out!)).toBe('output.dense')
    expect(moduleSuffix(gpt2Summary().targets[2]!)).toBe('attn.c_attn.v')
  })

  it('q,v is the family default (PEFT’s), and selects query and value of every block', () => {
    const bert = bertSummary()
    expect(presetPattern('default', bert.targets, bert.defaultTargets)).toBe(bert.defaultTargets)
    expect(selectedBy(bert.defaultTargets!)).toEqual([
      'bert.encoder.layer.0.attention.self.query',
      'bert.encoder.layer.0.attention.self.value',
      'bert.encoder.layer.1.attention.self.query',
      'bert.encoder.layer.1.attention.self.value'
    ])
    // Without a family default, q,v comes from the roles.
    expect(selectedBy(presetPattern('default', bert.targets))).toEqual(selectedBy(bert.defaultTargets!))
  })

  it('attention selects query, key, value and attention.output; MLP the two MLP matrices; all linear everything', () => {
    const bert = bertSummary()
    const roles = (pattern: string): string[] => selectedBy(pattern).map((n) => bert.targets.find((t) => t.name === n)!.role)
    expect(roles(presetPattern('attention', bert.targets))).toEqual(['query', 'key', 'value', 'attention.output', 'query', 'key', 'value', 'attention.output'])
    expect(roles(presetPattern('mlp', bert.targets))).toEqual(['mlp.in', 'mlp.out', 'mlp.in', 'mlp.out'])
    expect(selectedBy(presetPattern('all', bert.targets))).toHaveLength(12)
    // output.dense (MLP) must not drag attention.output.dense along.
    expect(selectedBy(presetPattern('mlp', bert.targets))).not.toContain('bert.encoder.layer.0.attention.output.dense')
  })

  it('works on GPT-2’s fused blocks', () => {
    const gpt2 = gpt2Summary(3)
    const qv = selectedBy(presetPattern('default', gpt2.targets, gpt2.defaultTargets), gpt2.targets)
    expect(qv).toEqual(['transformer.h.0.attn.c_attn.q', 'transformer.h.0.attn.c_attn.v', 'transformer.h.1.attn.c_attn.q', 'transformer.h.1.attn.c_attn.v', 'transformer.h.2.attn.c_attn.q', 'transformer.h.2.attn.c_attn.v'])
    const attention = selectedBy(presetPattern('attention', gpt2.targets), gpt2.targets)
    expect(attention).toHaveLength(12)
    expect(attention).not.toContain('transformer.h.0.mlp.c_proj')
  })

  it('narrows a pattern to a block range', () => {
    const bert = bertSummary(6)
    const names = matchingTargets(bert.targets, /query$/, { from: 2, to: 3 })
    expect([...names]).toEqual(['bert.encoder.layer.2.attention.self.query', 'bert.encoder.layer.3.attention.self.query'])
  })

  it('reports an invalid pattern instead of throwing', () => {
    expect(compilePattern('query|(').error).toBeDefined()
    expect(compilePattern('').regex).toBeUndefined()
  })
})

describe('what a selection sends', () => {
  it('sends the user’s pattern when it says exactly what is selected', () => {
    const bert = bertSummary()
    const selected = matchingTargets(bert.targets, new RegExp(bert.defaultTargets!))
    expect(targetsSetting(bert.targets, selected, bert.defaultTargets)).toEqual({ targets: bert.defaultTargets, skip: [] })
  })

  it('writes a hand-made selection compactly, and the pattern selects exactly those rows', () => {
    const bert = bertSummary(12)
    const selected = new Set(['bert.encoder.layer.1.attention.self.query', 'bert.encoder.layer.11.attention.self.query', 'bert.encoder.layer.1.output.dense', 'bert.encoder.layer.3.attention.self.value'])
    const setting = targetsSetting(bert.targets, selected, '\\.attention\\.self\\.query$')!
    expect(setting.skip).toEqual([])
    expect(setting.targets).toBe('\\.(?:(?:1|11)\\.(?:attention\\.self\\.query)|(?:1)\\.(?:output\\.dense)|(?:3)\\.(?:attention\\.self\\.value))$')
    expect(matchingTargets(bert.targets, new RegExp(setting.targets))).toEqual(selected)
  })

  it('groups modules that share their blocks', () => {
    const bert = bertSummary(4)
    const selected = matchingTargets(bert.targets, /(query|value)$/, { from: 1, to: 2 })
    expect(blockGroupPattern(bert.targets, selected)).toBe('\\.(?:(?:1|2)\\.(?:attention\\.self\\.query|attention\\.self\\.value))$')
  })

  it('falls back to module suffixes and skips, one by one, when the selection is too irregular for one pattern', () => {
    const bert = bertSummary(200)
    // Rows ticked by hand, scattered: each module ends up with its own long list of blocks.
    let seed = 7
    const coin = (): boolean => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) & 0x400) !== 0
    const selected = new Set(bert.targets.filter(() => coin()).map((t) => t.name))
    expect(blockGroupPattern(bert.targets, selected).length).toBeGreaterThan(maxPatternLength)
    const setting = targetsSetting(bert.targets, selected)!
    expect(setting.targets.length).toBeLessThanOrEqual(maxPatternLength)
    const regex = new RegExp(setting.targets)
    const trained = bert.targets.filter((t) => regex.test(t.name) && !setting.skip.includes(t.name)).map((t) => t.name)
    expect(new Set(trained)).toEqual(selected)
  })

  it('sends nothing for an empty selection', () => {
    expect(targetsSetting(bertSummary().targets, new Set())).toBeUndefined()
  })
})
