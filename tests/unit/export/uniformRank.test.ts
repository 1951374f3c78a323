import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { padToUniformRank, vllmMaxLoraRank } from '../../../src/main/engine/export'
import { writePeftLora, type PeftModule } from '../../../src/main/engine/export/peftLora'
import { openSafetensors } from '../../../src/main/engine/io'
import { tempDir } from '../../helpers/paths'

/** A module of rank r with seeded factors. */
function module(name: string, rank: number, out: number, inputs: number, seed: number): PeftModule {
  const value = (i: number): number => Math.sin(seed * 7.1 + i * 1.3)
  return { module: name, rank, inFeatures: inputs, outFeatures: out, loraA: Float32Array.from({ length: rank * inputs }, (_, i) => value(i)), loraB: Float32Array.from({ length: out * rank }, (_, i) => value(i + 1000)) }
}

/** B·A [out, in], in float64. */
function product(m: PeftModule): Float64Array {
  const out = new Float64Array(m.outFeatures * m.inFeatures)
  for (let i = 0; i < m.outFeatures; i++) for (let j = 0; j < m.inFeatures; j++) for (let r = 0; r < m.rank; r++) out[i * m.inFeatures + j]! += m.loraB[i * m.rank + r]! * m.loraA[r * m.inFeatures + j]!
  return out
}

describe('the uniform-rank PEFT export (vLLM, llama.cpp)', () => {
  const modules = [module('model.layers.0.self_attn.q_proj', 3, 8, 6, 1), module('model.layers.0.self_attn.v_proj', 2, 4, 6, 2), module('model.layers.1.mlp.down_proj', 5, 6, 9, 3)]

  it('zero-pads every module to the largest rank: the same B·A, exactly', () => {
    const padded = padToUniformRank(modules)
    expect(padded.map((m) => m.rank)).toEqual([5, 5, 5])
    for (const [i, m] of padded.entries()) {
      expect(m.loraA.length).toBe(5 * m.inFeatures)
      expect(m.loraB.length).toBe(m.outFeatures * 5)
      expect(Array.from(product(m))).toEqual(Array.from(product(modules[i]!)))
    }
    // The module already at the largest rank is left as it is.
    expect(padded[2]).toBe(modules[2])
  })

  it('writes one r with lora_alpha = r and no rank or alpha pattern; without it, the other ranks go in the patterns', async () => {
    const options = { task: 'causal-lm' as const, baseModel: '/models/base', fanInFanOut: false, basePrefix: 'model', head: [] }
    const uniform = tempDir('peft-uniform')
    await writePeftLora(uniform, modules, { ...options, uniformRank: true })
    const config = JSON.parse(readFileSync(join(uniform, 'adapter_config.json'), 'utf8')) as Record<string, unknown>
    expect([config['r'], config['lora_alpha'], config['rank_pattern'], config['alpha_pattern']]).toEqual([5, 5, {}, {}])
    const file = await openSafetensors(join(uniform, 'adapter_model.safetensors'))
    expect(file.tensors.map((t) => [t.name, t.shape])).toContainEqual(['base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight', [5, 6]])
    await file.close()
    const mixed = tempDir('peft-mixed')
    await writePeftLora(mixed, modules, options)
    const mixedConfig = JSON.parse(readFileSync(join(mixed, 'adapter_config.json'), 'utf8')) as Record<string, unknown>
    // r is the most common rank (ties: the smallest); vLLM would scale the others by lora_alpha / r, not 1.
    expect([mixedConfig['r'], mixedConfig['rank_pattern']]).toEqual([2, { 'layers.0.self_attn.q_proj': 3, 'layers.1.mlp.down_proj': 5 }])
  })

  it("names the smallest --max-lora-rank vLLM accepts", () => {
    expect([1, 2, 8, 9, 77, 320, 321, 512, 513].map(vllmMaxLoraRank)).toEqual([1, 8, 8, 16, 128, 320, 512, 512, undefined])
  })
})
