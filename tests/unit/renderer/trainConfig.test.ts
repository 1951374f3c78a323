// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { buildTrainConfig, defaultHyperparameters } from '@renderer/lib/trainConfig'
import { trainConfigInput } from '@shared/api'

const inputs = { model: '/models/tiny-bert', data: '/data/train.csv', task: 'classify' as const }

describe('the startRun request', () => {
  it('uses the engine’s defaults per task and method', () => {
    expect(defaultHyperparameters('classify', 'siva')).toMatchObject({ epochs: 3, batchSize: 16, lr: 1e-2, headLr: 1e-3, seed: 42, evalEvery: 0, spectraEvery: 10 })
    expect(defaultHyperparameters('causal-lm', 'lora')).toMatchObject({ batchSize: 8, lr: 5e-4 })
    expect(defaultHyperparameters('regress', 'full').lr).toBe(2e-5)
    expect(defaultHyperparameters('image-classify', 'head').lr).toBe(1e-3)
  })

  it('sends perc or k for spectral methods, targets with skips and per-layer overrides, and passes the schema', () => {
    const config = buildTrainConfig(
      { ...inputs, validation: '/data/dev.csv', columns: { text: 'sentence', label: '' } },
      {
        method: 'siva',
        amount: { k: 4 },
        targets: { targets: '\\.attention\\.self\\.(query|value)$', skip: ['bert.encoder.layer.0.attention.self.value'] },
        overrides: { 'bert.encoder.layer.1.attention.self.query': { k: 16 }, 'bert.encoder.layer.1.attention.self.value': { perc: 0.5 } }
      },
      { ...defaultHyperparameters('classify', 'siva'), maxSteps: 100 }
    )
    expect(config).toEqual({
      model: '/models/tiny-bert',
      data: '/data/train.csv',
      validation: '/data/dev.csv',
      task: 'classify',
      method: 'siva',
      k: 4,
      targets: '\\.attention\\.self\\.(query|value)$',
      overrides: [
        { pattern: '^bert\\.encoder\\.layer\\.0\\.attention\\.self\\.value$', skip: true },
        { pattern: '^bert\\.encoder\\.layer\\.1\\.attention\\.self\\.query$', k: 16 },
        { pattern: '^bert\\.encoder\\.layer\\.1\\.attention\\.self\\.value$', perc: 0.5 }
      ],
      columns: { text: 'sentence' },
      epochs: 3,
      maxSteps: 100,
      batchSize: 16,
      lr: 0.01,
      headLr: 0.001,
      seed: 42,
      evalEvery: 0,
      spectraEvery: 10,
      gradientAccumulation: 1,
      weightDecay: 0,
      schedule: 'linear',
      warmupRatio: 0.06,
      maxGradNorm: 1,
      checkpointEvery: 50
    })
    expect(trainConfigInput.safeParse(config).success).toBe(true)
  })

  it('sends a LoRA rank, and neither targets nor amounts for full fine-tuning', () => {
    const lora = buildTrainConfig(inputs, { method: 'lora', amount: { rank: 4 }, targets: { targets: 'query$', skip: [] }, overrides: { a: { rank: 2 } } }, defaultHyperparameters('classify', 'lora'))
    expect(lora).toMatchObject({ method: 'lora', rank: 4, targets: 'query$', overrides: [{ pattern: '^a$', rank: 2 }] })
    expect(lora.perc).toBeUndefined()
    const full = buildTrainConfig(inputs, { method: 'full', amount: { perc: 0.1 }, overrides: { a: { k: 2 } } }, defaultHyperparameters('classify', 'full'))
    expect(full.targets).toBeUndefined()
    expect(full.overrides).toBeUndefined()
    expect(full.perc).toBeUndefined()
    expect(trainConfigInput.safeParse(full).success).toBe(true)
  })
})
