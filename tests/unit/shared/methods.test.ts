import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openCheckpoint, type TensorSource } from '../../../src/main/engine/io'
import { familyFor } from '../../../src/main/engine/models/registry'
import type { AdaptableLinear } from '../../../src/main/engine/models/types'
import { adaptTargets, countTrainable, methodNamed, methods, type Adapter, type TargetOverride } from '../../../src/main/engine/peft'
import { defaultTrainConfig } from '../../../src/main/engine/training/loop'
import { amountError, bandSize, effectiveAmount, methodInfo, methodNames, trainable, trainedBand, type Amount, type MethodName } from '../../../src/shared/methods'
import { inProcessDecompose } from '../../helpers/decompose'
import { hfReference } from '../../helpers/hfref'
import { repoRoot } from '../../helpers/paths'

/**
 * The method catalogue (src/shared/methods.ts) against what actually trains: adapters the engine builds on
 * tiny-bert's real 32×32, 37×32 and 32×37 matrices hold exactly the catalogue's count of trainable values
 * (their variables' sizes, independent of any formula), PEFT's own LoRA counts the same, and the renderer's
 * live count and the engine's pre-build count give the same numbers. Then the k rule's edge cases.
 */
const tinyBert = join(repoRoot, 'tests/fixtures/models/tiny-bert')

/**
 * The renderer's live count (src/renderer/src/lib/parameterCount.ts), the very module the Layers step runs.
 * Imported by path at run time: that file belongs to the web tsconfig project, this test to the node one.
 */
interface RendererCount {
  trainableFor(method: MethodName, shape: readonly [number, number], amount: Amount): number | undefined
  estimateParameters(
    method: MethodName,
    selected: readonly { name: string; shape: readonly [number, number] }[],
    global: Amount,
    overrides: Readonly<Record<string, Amount>>,
    modelParameters: number
  ): { adapter: number; lora8: number; full: number; perTarget: Map<string, number>; invalid: Map<string, string> }
}
const rendererCountModule = join(repoRoot, 'src/renderer/src/lib/parameterCount.ts')
let trainableFor: RendererCount['trainableFor']
let estimateParameters: RendererCount['estimateParameters']
const adapterMethods = methodNames.filter((name) => methodInfo(name).kind === 'adapter')

let source: TensorSource
let targets: AdaptableLinear[]
beforeAll(async () => {
  ;({ trainableFor, estimateParameters } = (await import(/* @vite-ignore */ rendererCountModule)) as RendererCount)
  await tf.setBackend('wasm')
  source = await openCheckpoint(tinyBert)
  const all = familyFor(source.config, tinyBert).targets(source.config!, source.tensors)
  // Block 0: query and value (32×32), the MLP's input (37×32) and output (32×37).
  targets = all.filter((t) => t.block === 0 && /self\.(query|value)$|intermediate\.dense$|output\.dense$/.test(t.name) && !/attention\.output/.test(t.name))
})
afterAll(async () => {
  await source.close()
})

const shapeOf = (t: AdaptableLinear): [number, number] => [t.outFeatures, t.inFeatures]
const variableSize = (a: Adapter): number => a.variables.reduce((sum, v) => sum + v.size, 0)

async function adapt(method: MethodName, amount: Amount, overrides: TargetOverride[] = []): Promise<Adapter[]> {
  const { adapters } = await adaptTargets(source, targets, methods[method], { ...amount, alpha: 8, seed: 3, overrides, decompose: inProcessDecompose })
  return adapters
}

describe('the catalogue’s trainable count is what the engine’s adapters train', () => {
  it('picks tiny-bert’s square and both rectangular shapes', () => {
    expect(targets.map(shapeOf)).toEqual([
      [32, 32],
      [32, 32],
      [37, 32],
      [32, 37]
    ])
  })

  const amounts: Record<string, Amount[]> = {
    siva: [{ perc: 0.1 }, { perc: 1 }, { k: 5 }, { k: 100 }, {}],
    topk: [{ perc: 0.25 }, { k: 1 }, { k: 32 }],
    svdiff: [{}, { k: 3 }],
    lora: [{ rank: 1 }, { rank: 4 }, {}]
  }
  it.each(adapterMethods.flatMap((method) => (amounts[method] ?? []).map((amount) => [method, amount] as const)))('%s with %j: adapters, engine count and renderer count agree', async (method, amount) => {
    const adapters = await adapt(method, amount)
    try {
      expect(adapters).toHaveLength(targets.length)
      for (const adapter of adapters) {
        const expected = trainable(method, shapeOf(adapter.target), amount)
        expect(variableSize(adapter)).toBe(expected)
        expect(adapter.trainableParameters).toBe(expected)
        // What an adapter file keeps of its own (underived) is the same count.
        const stored = await adapter.stored()
        expect(stored.tensors.filter((t) => !t.derived).reduce((sum, t) => sum + t.values.length, 0)).toBe(expected)
        if (adapter.spectrum) expect(adapter.spectrum.band).toEqual(trainedBand(method, Math.min(...shapeOf(adapter.target)), expected))
        expect(trainableFor(method, shapeOf(adapter.target), amount)).toBe(expected)
      }
      const total = adapters.reduce((sum, a) => sum + a.trainableParameters, 0)
      expect(countTrainable(method, targets, amount)).toBe(total)
      const estimate = estimateParameters(method, targets.map((t) => ({ name: t.name, shape: shapeOf(t) })), amount, {}, 1_000_000)
      expect(estimate.adapter).toBe(total)
      expect(estimate.invalid.size).toBe(0)
    } finally {
      adapters.forEach((a) => a.dispose())
    }
  })

  it('per-layer overrides resolve alike in the engine, the catalogue and the renderer', async () => {
    const [query, , mlpIn, mlpOut] = targets as [AdaptableLinear, AdaptableLinear, AdaptableLinear, AdaptableLinear]
    const global: Amount = { k: 4, rank: 2 }
    const overrides: Record<string, Amount> = { [query.name]: { perc: 0.5 }, [mlpIn.name]: { k: 7 }, [mlpOut.name]: { rank: 3 } }
    const engineOverrides = Object.entries(overrides).map(([name, o]) => ({ pattern: new RegExp(`^${name.replaceAll('.', '\\.')}$`), ...o }))
    for (const method of ['siva', 'lora'] as const) {
      const adapters = await adapt(method, global, engineOverrides)
      try {
        const rendered = estimateParameters(method, targets.map((t) => ({ name: t.name, shape: shapeOf(t) })), global, overrides, 1_000_000)
        for (const adapter of adapters) {
          const expected = trainable(method, shapeOf(adapter.target), effectiveAmount(global, overrides[adapter.target.name]))
          expect(variableSize(adapter)).toBe(expected)
          expect(rendered.perTarget.get(adapter.target.name)).toBe(expected)
        }
        // siva: query 16 (perc 0.5 of 32 replaces the global k), value 4, MLP in 7, out 4; LoRA: 2·64, 2·64, 2·69, 3·69.
        expect(adapters.map(variableSize)).toEqual(method === 'siva' ? [16, 4, 7, 4] : [128, 128, 138, 207])
        expect(countTrainable(method, targets, { ...global, overrides: engineOverrides })).toBe(rendered.adapter)
      } finally {
        adapters.forEach((a) => a.dispose())
      }
    }
  })

  it('LoRA: PEFT 0.12’s own count on the same tiny-bert modules is rank · (out + in)', () => {
    const names = targets.map((t) => t.name)
    const { results } = hfReference<{ results: Record<string, number>[] }>('peft_lora_count.py', [], { model: tinyBert, jobs: [{ r: 4, targets: names }, { r: 1, targets: names }] })
    for (const [i, rank] of [4, 1].entries()) {
      expect(Object.keys(results[i]!).sort()).toEqual([...names].sort())
      for (const t of targets) expect(trainable('lora', shapeOf(t), { rank })).toBe(results[i]![t.name])
    }
  }, 60_000)

  it('768×3072 (described, not built): the catalogue, the engine’s pre-build count and the renderer agree', () => {
    const wide: AdaptableLinear = { name: 'x.0.mlp', weightTensor: 'x.0.mlp.weight', conv1d: false, outFeatures: 768, inFeatures: 3072, block: 0, role: 'mlp.out' }
    const expected: [MethodName, Amount, number][] = [
      ['siva', { perc: 0.1 }, 77], // round(76.8)
      ['topk', { k: 16 }, 16],
      ['siva', { k: 5000 }, 768], // more than r: all r train
      ['svdiff', {}, 768],
      ['lora', { rank: 8 }, 8 * 3840],
      ['full', {}, 768 * 3072],
      ['head', {}, 0]
    ]
    for (const [method, amount, count] of expected) {
      expect(trainable(method, [768, 3072], amount)).toBe(count)
      expect(trainableFor(method, [768, 3072], amount)).toBe(count)
      // The engine counts only what adapts targets: full trains the model's own variables, the probe none.
      expect(countTrainable(method, [wide], amount)).toBe(methodInfo(method).kind === 'adapter' ? count : 0)
    }
  })
})

describe('the k rule, in the catalogue and in the engine', () => {
  it('perc → k = max(1, round(perc · r)), halves rounded up, at most r; the engine builds that band', async () => {
    // r = 32: 0.078125 · 32 = 2.5 exactly → 3; 0.01 · 32 = 0.32 → 0 → at least 1; 1 → all 32.
    const cases: [Amount, number][] = [
      [{ perc: 0.078125 }, 3],
      [{ perc: 0.046875 }, 2], // 1.5 → 2
      [{ perc: 0.01 }, 1],
      [{ perc: 1 }, 32],
      [{ k: 100 }, 32],
      [{}, 3] // perc 0.1 by default: 3.2 → 3
    ]
    for (const [amount, k] of cases) {
      expect(bandSize(32, amount)).toBe(k)
      expect(amountError('siva', amount)).toBeUndefined()
      const adapters = await adapt('siva', amount)
      try {
        expect(adapters.map((a) => a.trainableParameters)).toEqual([k, k, k, k])
        expect(adapters[0]!.spectrum!.band).toEqual([32 - k, 32])
      } finally {
        adapters.forEach((a) => a.dispose())
      }
    }
  })

  it('k = 0, a fractional k, a negative k and perc outside (0, 1] are refused by both, never rounded', async () => {
    const refused: [MethodName, Amount][] = [
      ['siva', { k: 0 }],
      ['topk', { k: 2.5 }],
      ['siva', { k: -3 }],
      ['siva', { perc: 0 }],
      ['topk', { perc: 1.5 }],
      ['lora', { rank: 0 }],
      ['lora', { rank: 1.5 }]
    ]
    for (const [method, amount] of refused) {
      const why = amountError(method, amount)
      expect(why).toMatch(/must be/)
      expect(() => trainable(method, [32, 32], amount)).toThrow(RangeError)
      await expect(adapt(method, amount)).rejects.toThrow(why!)
      expect(() => countTrainable(method, targets, amount)).toThrow(why!)
      // The renderer counts nothing for it and says why, where it used to floor 2.5 to 2.
      expect(trainableFor(method, [32, 32], amount)).toBeUndefined()
      expect(estimateParameters(method, [{ name: 'a', shape: [32, 32] }], amount, {}, 10).invalid.get('a')).toBe(why)
    }
    // A refused per-layer k is refused for that layer only.
    const estimate = estimateParameters('siva', [{ name: 'a', shape: [32, 32] }, { name: 'b', shape: [32, 32] }], { k: 4 }, { b: { k: 0.5 } }, 10)
    expect(estimate.adapter).toBe(4)
    expect([...estimate.invalid.keys()]).toEqual(['b'])
  })

  it('methods that read no k ignore one, as the engine does', async () => {
    expect(amountError('svdiff', { k: 0.5 })).toBeUndefined()
    expect(amountError('lora', { k: 0.5 })).toBeUndefined()
    const adapters = await adapt('svdiff', { k: 0.5 })
    try {
      expect(adapters.map((a) => a.trainableParameters)).toEqual([32, 32, 32, 32])
    } finally {
      adapters.forEach((a) => a.dispose())
    }
  })
})

describe('the rest of what a method is', () => {
  it('spectral methods need an SVD, adapter methods wrap targets, and the engine’s implementation is the catalogue’s', () => {
    for (const name of methodNames) {
      const info = methodInfo(name)
      expect(methodNamed(name)).toMatchObject({ name, kind: info.kind, needsSvd: info.spectral })
    }
    expect(methodNames.filter((name) => methodInfo(name).spectral)).toEqual(['siva', 'svdiff', 'topk'])
    expect(adapterMethods).toEqual(['siva', 'svdiff', 'topk', 'lora'])
    expect(() => methodNamed('constructor')).toThrow(/unknown method "constructor"; choose one of siva, svdiff, topk, lora, full, head/)
  })

  it('a run starts from the catalogue’s learning rate: spectral 1e-2, LoRA 5e-4, full 2e-5, head 1e-3', () => {
    const lr = Object.fromEntries(methodNames.map((method) => [method, defaultTrainConfig({ model: 'm', data: 'd', task: 'classify', method }).lr]))
    expect(lr).toEqual({ siva: 1e-2, svdiff: 1e-2, topk: 1e-2, lora: 5e-4, full: 2e-5, head: 1e-3 })
    expect(defaultTrainConfig({ model: 'm', data: 'd', task: 'classify', method: 'topk' }).perc).toBe(0.1)
    expect(defaultTrainConfig({ model: 'm', data: 'd', task: 'classify', method: 'lora' }).perc).toBeUndefined()
  })
})
