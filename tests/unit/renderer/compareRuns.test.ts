import { describe, expect, it } from 'vitest'
import type { TrainConfig } from '@shared/training'
import { configDiff, finalMetric, formatConfigValue, keyMetricOf, lossCurves, meanErankGain, metricAxisName, metricCurves, runLabels, scatterData, summaryRow, summaryRows, type ComparedRun, type SummaryRow } from '@renderer/lib/compareRuns'
import { createRunTrace, RunFolder, type LayerTrace } from '@renderer/lib/runTrace'
import { config, numbered, shortRun } from './trainEvents'

function folded(events = shortRun()): RunFolder {
  const folder = new RunFolder()
  for (const e of events) folder.fold(e)
  return folder
}

function layer(name: string, erankBefore: number, erank: [number, number][]): LayerTrace {
  return { name, before: [], now: [], band: [0, 1], erankBefore, erank }
}

/** A LoRA run on the same data: no spectra, two evaluations. */
function loraRun(): ComparedRun {
  const lora: TrainConfig = { ...config, method: 'lora', rank: 8, alpha: 16, lr: 0.001 }
  delete lora.perc
  const folder = folded(
    numbered([
      { type: 'started', config: lora, backend: { name: 'cpu', skipped: [] } },
      { type: 'prepared', parameters: { adapter: 128, head: 18, total: 146, lora8: 128, full: 5000 }, targets: [], data: { train: 16, validation: 4 }, totalSteps: 2, spectraBefore: [] },
      { type: 'step', step: 1, epoch: 0, loss: 1, lr: 0.001, gradNorm: 1, samplesPerSecond: 40, stepsPerSecond: 10, etaSeconds: 0.1 },
      { type: 'step', step: 2, epoch: 0, loss: 0.5, lr: 0.0005, gradNorm: 1, samplesPerSecond: 40, stepsPerSecond: 10, etaSeconds: 0 },
      { type: 'eval', step: 1, epoch: 0, metrics: { accuracy: 0.25, loss: 0.9 }, best: true },
      { type: 'eval', step: 2, epoch: 0, metrics: { accuracy: 0.6, loss: 0.8 }, best: true },
      { type: 'finished', step: 2, seconds: 1 }
    ])
  )
  return { id: 'r-lora', trace: folder.trace }
}

describe('the key metric', () => {
  it('is accuracy for classification, pearson for regression and loss for causal LM', () => {
    expect(keyMetricOf('classify')).toBe('accuracy')
    expect(keyMetricOf('image-classify')).toBe('accuracy')
    expect(keyMetricOf('regress')).toBe('pearson')
    expect(keyMetricOf('causal-lm')).toBe('loss')
  })

  it('takes its final value from the last evaluation', () => {
    const trace = createRunTrace()
    trace.metrics = { accuracy: [[2, 0.5], [4, 0.75]], loss: [[2, 0.7]] }
    expect(finalMetric(trace, 'accuracy')).toBe(0.75)
    expect(finalMetric(trace, 'loss')).toBe(0.7)
    expect(finalMetric(trace, 'pearson')).toBeUndefined()
  })
})

describe('the mean effective-rank gain', () => {
  it('averages erank − erankBefore over the layers of the last spectra event', () => {
    const trace = createRunTrace()
    trace.layers = new Map([
      ['a', layer('a', 3, [[0, 3], [2, 3.1], [4, 3.5]])], // +0.5
      ['b', layer('b', 2, [[0, 2], [2, 2.2], [4, 1.9]])], // −0.1
      // Not in the last event (its last point is step 2): left out.
      ['c', layer('c', 1, [[0, 1], [2, 9]])]
    ])
    trace.spectraStep = 4
    expect(meanErankGain(trace)).toBeCloseTo((0.5 - 0.1) / 2, 12)
  })

  it('is undefined for a run without spectra, even when layers were prepared', () => {
    const trace = createRunTrace()
    trace.layers = new Map([['a', layer('a', 3, [[0, 3]])]])
    expect(meanErankGain(trace)).toBeUndefined()
  })

  it('is read from the folded events of a SiVA run', () => {
    // Last spectra at step 4: query 3.5 − 3.2 = 0.3, value 3.8 − 3.6 = 0.2.
    expect(meanErankGain(folded().trace)).toBeCloseTo(0.25, 12)
  })
})

describe('the config diff', () => {
  const a: TrainConfig = { ...config, perc: 0.25, lr: 0.01, targets: '\\.query$' }
  const b: TrainConfig = { ...config, perc: 0.5, lr: 0.01, columns: { text: 'sentence', label: 'y' } }

  it('lists every field once, method first, flagging those that differ', () => {
    const rows = configDiff([a, b])
    const differing = rows.filter((r) => r.differs)
    expect(differing).toEqual([
      { field: 'perc', values: ['0.25', '0.5'], differs: true },
      { field: 'targets', values: ['\\.query$', '–'], differs: true },
      { field: 'columns', values: ['–', '{"label":"y","text":"sentence"}'], differs: true }
    ])
    expect(rows[0]).toEqual({ field: 'method', values: ['siva', 'siva'], differs: false })
    expect(rows.find((r) => r.field === 'lr')).toEqual({ field: 'lr', values: ['0.01', '0.01'], differs: false })
    // Every field of the fixture config, plus targets and columns, once each.
    expect(rows.map((r) => r.field).sort()).toEqual([...Object.keys(config), 'targets', 'columns'].sort())
  })

  it('compares objects whatever the order of their keys', () => {
    const rows = configDiff([
      { ...config, columns: { text: 't', label: 'l' } },
      { ...config, columns: { label: 'l', text: 't' } }
    ])
    expect(rows.find((r) => r.field === 'columns')!.differs).toBe(false)
    expect(rows.every((r) => !r.differs)).toBe(true)
  })

  it('shows an unknown config as ? and leaves it out of the comparison', () => {
    const rows = configDiff([a, undefined, { ...a }])
    expect(rows.find((r) => r.field === 'perc')).toEqual({ field: 'perc', values: ['0.25', '?', '0.25'], differs: false })
  })

  it('formats values as cells show them', () => {
    expect(formatConfigValue(undefined)).toBe('–')
    expect(formatConfigValue(false)).toBe('false')
    expect(formatConfigValue(1e-5)).toBe('0.00001')
    expect(formatConfigValue([{ pattern: 'x', skip: true }])).toBe('[{"pattern":"x","skip":true}]')
  })
})

describe('the summary and the curves', () => {
  const siva: ComparedRun = { id: 'r-siva', trace: folded().trace }
  const lora = loraRun()

  it('sums up each run: final key metric, trainable parameters, erank gain', () => {
    const [s, l] = summaryRows([siva, lora])
    expect(s).toMatchObject({ id: 'r-siva', task: 'classify', method: 'siva', status: 'finished', metric: 'accuracy', finalMetric: 0.75, trainable: 20 })
    expect(s!.erankGain).toBeCloseTo(0.25, 12)
    expect(s).toMatchObject({ step: 4, totalSteps: 4 })
    expect(l).toEqual({ id: 'r-lora', label: 'r-lora', task: 'classify', method: 'lora', status: 'finished', step: 2, totalSteps: 2, metric: 'accuracy', finalMetric: 0.6, bestMetric: 0.6, trainable: 146 })
  })

  it('falls back to the run list for a run whose events say little', () => {
    const trace = createRunTrace()
    const row = summaryRow({
      id: 'r-q',
      trace,
      summary: { id: 'r-q', dir: '/r', created: '', model: '/m', data: '/d', task: 'regress', method: 'head', status: 'queued', step: 3, totalSteps: 10, trainable: 99 }
    })
    expect(row).toEqual({ id: 'r-q', label: 'r-q', task: 'regress', method: 'head', status: 'queued', step: 3, totalSteps: 10, metric: 'pearson', trainable: 99 })
  })

  it('overlays the smoothed loss and the key metric, one series per run', () => {
    const loss = lossCurves([siva, lora])
    expect(Object.keys(loss)).toEqual(['r-siva', 'r-lora'])
    // EMA 0.9 with the bias removed: 1, then (0.09 + 0.05) / 0.19.
    expect(loss['r-lora']![0]).toEqual([1, 1])
    expect(loss['r-lora']![1]![0]).toBe(2)
    expect(loss['r-lora']![1]![1]).toBeCloseTo(0.14 / 0.19, 12)
    expect(metricCurves([siva, lora])).toEqual({ 'r-siva': [[2, 0.5], [4, 0.75]], 'r-lora': [[1, 0.25], [2, 0.6]] })
    expect(metricAxisName([siva, lora])).toBe('accuracy')
  })

  it('picks each run’s own key metric when the tasks differ', () => {
    const regress = folded(
      numbered([
        { type: 'started', config: { ...config, task: 'regress' }, backend: { name: 'cpu', skipped: [] } },
        { type: 'eval', step: 2, epoch: 0, metrics: { loss: 0.3, pearson: 0.8, spearman: 0.7 }, best: true }
      ])
    )
    const runs = [siva, { id: 'r-reg', trace: regress.trace }]
    expect(metricCurves(runs)).toEqual({ 'r-siva': [[2, 0.5], [4, 0.75]], 'r-reg': [[2, 0.8]] })
    expect(metricAxisName(runs)).toBe('accuracy / pearson')
  })
})

describe('names and the metric-against-cost points', () => {
  it('labels runs by their given name, telling equal names apart by id', () => {
    const labels = runLabels([
      { id: 'a', name: 'baseline' },
      { id: 'b', name: 'baseline' },
      { id: 'c' },
      { id: 'd', summary: { id: 'd', dir: '', created: '', model: '', data: '', task: 'classify', method: 'siva', status: 'finished', step: 0, name: 'from the list' } }
    ])
    expect([...labels]).toEqual([
      ['a', 'baseline (a)'],
      ['b', 'baseline (b)'],
      ['c', 'c'],
      ['d', 'from the list']
    ])
  })

  const row = (r: Partial<SummaryRow> & Pick<SummaryRow, 'id'>): SummaryRow => ({ label: r.id, status: 'finished', step: 1, ...r })

  it('one point per run with both values, the others named with the reason', () => {
    const rows = [
      row({ id: 'siva', method: 'siva', metric: 'accuracy', finalMetric: 0.8, bestMetric: 0.82, trainable: 1848, erankGain: 0.4 }),
      row({ id: 'lora', method: 'lora', metric: 'accuracy', finalMetric: 0.7, trainable: 25_000 }),
      row({ id: 'queued', method: 'siva', metric: 'accuracy', trainable: 1848 }),
      row({ id: 'reg', method: 'siva', metric: 'pearson', finalMetric: 0.9, trainable: 500, erankGain: 0.1 }),
      row({ id: 'early', method: 'topk', metric: 'accuracy', finalMetric: 0.5 })
    ]
    const byTrainable = scatterData(rows, 'trainable', 'final')
    expect(byTrainable.metric).toBe('accuracy')
    expect(byTrainable.points.map((p) => [p.id, p.x, p.y])).toEqual([
      ['siva', 1848, 0.8],
      ['lora', 25_000, 0.7]
    ])
    expect(byTrainable.leftOut).toEqual([
      { id: 'queued', label: 'queued', why: 'not evaluated yet' },
      { id: 'reg', label: 'reg', why: 'ranked by pearson, not accuracy' },
      { id: 'early', label: 'early', why: 'trainable parameters not known yet' }
    ])
    const byGain = scatterData(rows, 'erankGain', 'best')
    expect(byGain.points.map((p) => [p.id, p.x, p.y])).toEqual([['siva', 0.4, 0.82]])
    expect(byGain.leftOut.map((r) => [r.id, r.why])).toEqual([
      ['lora', 'no best evaluation yet'],
      ['queued', 'no best evaluation yet'],
      ['reg', 'no best evaluation yet'],
      ['early', 'no best evaluation yet']
    ])
    expect(scatterData(rows, 'erankGain', 'final').leftOut.find((r) => r.id === 'lora')!.why).toBe('LoRA reports no spectra')
    expect(scatterData(rows, 'erankGain', 'final').leftOut.find((r) => r.id === 'early')!.why).toBe('no spectra yet')
  })
})
