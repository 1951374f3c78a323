import type { TrainConfig, TrainEvent } from '../../../src/shared/training'

type Body = TrainEvent extends infer E ? (E extends TrainEvent ? Omit<E, 'index' | 'time'> : never) : never

export const config: TrainConfig = {
  model: '/models/tiny-bert',
  data: '/data/train.csv',
  validationFraction: 0.1,
  task: 'classify',
  method: 'siva',
  perc: 0.25,
  epochs: 1,
  batchSize: 4,
  gradientAccumulation: 1,
  lr: 0.01,
  headLr: 0.001,
  weightDecay: 0,
  schedule: 'linear',
  warmupRatio: 0,
  maxGradNorm: 1,
  seed: 42,
  evalEvery: 2,
  spectraEvery: 2,
  checkpointEvery: 2,
  backend: 'cpu'
}

/** Numbers events in order, as events.jsonl does. */
export function numbered(bodies: Body[], from = 0): TrainEvent[] {
  return bodies.map((b, i) => ({ ...b, index: from + i, time: new Date(Date.UTC(2025, 0, 1, 0, 0, from + i)).toISOString() }) as TrainEvent)
}

export const queryBefore = [4, 2, 1, 0.5]
export const valueBefore = [3, 3, 1, 1]

/** A short SiVA run on two 4×4 matrices, as the training worker reports it: prepare, four steps, eval, spectra, pause, resume, finish. */
export function shortRun(): TrainEvent[] {
  return numbered([
    { type: 'started', config, backend: { name: 'cpu', skipped: [] } },
    { type: 'stage', stage: 'svd', done: 1, total: 2 },
    {
      type: 'prepared',
      parameters: { adapter: 2, head: 18, total: 20, lora8: 128, full: 5000 },
      targets: [
        { name: 'bert.encoder.layer.0.attention.self.query', shape: [4, 4], trainable: 1, band: [3, 4] },
        { name: 'bert.encoder.layer.0.attention.self.value', shape: [4, 4], trainable: 1, band: [3, 4] }
      ],
      data: { train: 16, validation: 4, labels: ['neg', 'pos'] },
      totalSteps: 4,
      spectraBefore: [
        { name: 'bert.encoder.layer.0.attention.self.query', before: queryBefore, band: [3, 4] },
        { name: 'bert.encoder.layer.0.attention.self.value', before: valueBefore, band: [3, 4] }
      ]
    },
    { type: 'step', step: 1, epoch: 0, loss: 0.8, lr: 0.01, gradNorm: 1, samplesPerSecond: 40, stepsPerSecond: 10, etaSeconds: 0.3 },
    { type: 'step', step: 2, epoch: 0, loss: 0.6, lr: 0.0075, gradNorm: 0.9, samplesPerSecond: 40, stepsPerSecond: 10, etaSeconds: 0.2 },
    { type: 'eval', step: 2, epoch: 0, metrics: { accuracy: 0.5, loss: 0.7 }, best: true },
    {
      type: 'spectra',
      step: 2,
      layers: [
        { name: 'bert.encoder.layer.0.attention.self.query', now: [4, 2, 1, 0.75], band: [3, 4], erankBefore: 3.2, erank: 3.4 },
        { name: 'bert.encoder.layer.0.attention.self.value', now: [3, 3, 1, 1.5], band: [3, 4], erankBefore: 3.6, erank: 3.7 }
      ]
    },
    { type: 'checkpoint', step: 2, name: 'step-2' },
    { type: 'paused', step: 2 },
    { type: 'resumed', step: 2 },
    { type: 'step', step: 3, epoch: 0, loss: 0.5, lr: 0.005, gradNorm: 0.8, samplesPerSecond: 40, stepsPerSecond: 8, etaSeconds: 0.125 },
    { type: 'step', step: 4, epoch: 0, loss: 0.4, lr: 0.0025, gradNorm: 0.7, samplesPerSecond: 40, stepsPerSecond: 8, etaSeconds: 0 },
    { type: 'eval', step: 4, epoch: 0, metrics: { accuracy: 0.75, loss: 0.55 }, best: true },
    {
      type: 'spectra',
      step: 4,
      layers: [
        { name: 'bert.encoder.layer.0.attention.self.query', now: [4, 2, 1, 1], band: [3, 4], erankBefore: 3.2, erank: 3.5 },
        { name: 'bert.encoder.layer.0.attention.self.value', now: [3, 3, 1, 2], band: [3, 4], erankBefore: 3.6, erank: 3.8 }
      ]
    },
    { type: 'checkpoint', step: 4, name: 'step-4' },
    { type: 'finished', step: 4, best: { step: 4, metrics: { accuracy: 0.75, loss: 0.55 } }, seconds: 1.5 }
  ])
}
