import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildReport, runReportFormat, runReportVersion, type RunReport } from '../../../src/main/engine/export/report'
import { renderReportHtml } from '../../../src/main/engine/export/reportHtml'
import { defaultTrainConfig, TrainControl, trainRun } from '../../../src/main/engine/training/loop'
import { EventLog, readCheckpoint } from '../../../src/main/engine/training/runFolder'
import type { TrainConfig, TrainEvent } from '../../../src/shared/training'
import { pythonWithNumpy, repoRoot, tempDir, tinyGpt2 } from '../../helpers/paths'
import { tinyBertWithTokenizer } from '../../helpers/tinyModels'
import { inProcessDecompose as decompose } from '../../helpers/decompose'

// Reports of real runs: tiny-bert (and tiny-random-gpt2) trained a few steps by the real loop, checked
// against what the run folder holds and against numpy's singular values of the checkpoint.


/** A class name a user could write, that HTML must not take for markup. */
const hostileLabel = '<b>&"'

let dir: string
let model: string
let data: string
beforeAll(() => {
  dir = tempDir('report')
  model = tinyBertWithTokenizer(join(dir, 'tiny-bert'))
  data = join(dir, 'reviews.csv')
  const fillers = ['the film was', 'we found it', 'a truly', 'honestly quite', 'the food is']
  const rows = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? `${fillers[i % 5]} good,"${hostileLabel.replace(/"/g, '""')}"` : `${fillers[i % 5]} bad,neg`))
  writeFileSync(data, `text,label\n${rows.join('\n')}\n`)
})

/** Train, optionally cancelling through TrainControl or dropping the generator (as a kill would) after a step. */
async function train(config: TrainConfig | { resume: true }, runDir: string, stop?: { cancelAt?: number; killAt?: number; killAfter?: TrainEvent['type'] }): Promise<TrainEvent[]> {
  const control = new TrainControl()
  const events: TrainEvent[] = []
  for await (const event of trainRun(config, runDir, { decompose, control })) {
    events.push(event)
    if (event.type === stop?.killAfter) break
    if (event.type !== 'step') continue
    if (event.step === stop?.cancelAt) control.cancel()
    if (event.step === stop?.killAt) break
  }
  return events
}

const siva = (partial: Partial<TrainConfig> = {}): TrainConfig =>
  defaultTrainConfig({ model, data, task: 'classify', method: 'siva', epochs: 2, maxSteps: 6, batchSize: 8, lr: 0.05, seed: 5, evalEvery: 3, spectraEvery: 2, checkpointEvery: 3, backend: 'wasm', ...partial })

type Of<T extends TrainEvent['type']> = Extract<TrainEvent, { type: T }>
const ofType = <T extends TrainEvent['type']>(events: TrainEvent[], type: T): Of<T>[] => events.filter((e): e is Of<T> => e.type === type)

/** Effective rank by its definition (Roy & Vetterli): exp of the entropy of σ / Σσ. */
function erankByDefinition(s: number[]): number {
  const total = s.reduce((a, b) => a + b, 0)
  return Math.exp(-s.reduce((h, x) => (x > 0 ? h + (x / total) * Math.log(x / total) : h), 0))
}

const close = (a: number, b: number, tolerance: number): void => expect(Math.abs(a - b)).toBeLessThanOrEqual(tolerance)

/**
 * A small well-formedness check: every '<' opens a tag with quoted, markup-free attributes; tags nest and
 * close (void and self-closing ones aside); every '&' starts an entity; no raw '>' in text.
 */
function expectWellFormed(html: string): void {
  const voids = new Set(['meta', 'br', 'hr', 'img', 'input', 'link', 'col', 'wbr'])
  const body = html.replace(/^<!DOCTYPE html>\n/, '').replace(/<style>[\s\S]*?<\/style>/, '<style></style>')
  const tag = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z][a-zA-Z0-9:-]*(?:="[^"<>]*")?)*)\s*(\/?)>/y
  const stack: string[] = []
  let at = 0
  while (at < body.length) {
    const open = body.indexOf('<', at)
    const text = body.slice(at, open === -1 ? body.length : open)
    expect(text, `raw '>' in text near ${JSON.stringify(text.slice(0, 60))}`).not.toMatch(/>/)
    expect(text, 'a bare &').not.toMatch(/&(?!#\d+;|[a-z]+;)/)
    if (open === -1) break
    tag.lastIndex = open
    const match = tag.exec(body)
    expect(match, `not a tag at ${JSON.stringify(body.slice(open, open + 60))}`).not.toBeNull()
    const [whole, closing, name, , selfClosing] = match!
    if (closing) expect(stack.pop(), `</${name}> closes the wrong element`).toBe(name)
    else if (!selfClosing && !voids.has(name!.toLowerCase())) stack.push(name!)
    at = open + whole.length
  }
  expect(stack).toEqual([])
}

/** The page loads nothing and runs nothing. */
function expectSelfContained(html: string): void {
  expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`)
  expect(html).not.toMatch(/<script/i)
  expect(html).not.toMatch(/https?:\/\//i)
  expect(html).not.toMatch(/\s(src|href|xlink:href)=/i)
  expect(html).not.toMatch(/url\(|@import/i)
  expect(html).toContain('prefers-color-scheme: dark')
  expect(html.match(/<svg\b/g)?.length).toBe(html.match(/<\/svg>/g)?.length)
}

describe('the report of a finished SiVA run', () => {
  let runDir: string
  let events: TrainEvent[]
  let report: RunReport
  let numpy: { name: string; singularValues: number[]; effectiveRank: number }[]

  beforeAll(async () => {
    runDir = join(dir, 'siva')
    events = await train(siva(), runDir)
    report = await buildReport(runDir)
    const run = spawnSync(pythonWithNumpy(), [join(repoRoot, 'tests/reference/spectra_reference.py'), join(model, 'model.safetensors')], { encoding: 'utf8', maxBuffer: 1 << 26 })
    expect(run.status, run.stderr).toBe(0)
    numpy = (JSON.parse(run.stdout) as { tensors: typeof numpy }).tensors
  }, 60_000)

  it('says what it is and how the run stands', () => {
    expect(report).toMatchObject({ format: runReportFormat, version: runReportVersion, status: 'finished', stepsDone: 6, totalSteps: 6, checkpoint: { name: 'step-0000006', step: 6 } })
    expect(report.config).toEqual((ofType(events, 'started')[0]!).config)
    expect(report.run).toMatchObject({ backend: 'wasm', resumedFrom: [], data: { train: { path: data, files: 1 } } })
    expect(report.seconds).toBe(ofType(events, 'finished')[0]!.seconds)
    expect(report.data).toEqual({ train: 36, validation: 4, labels: [hostileLabel, 'neg'] })
    // Numbers stay numbers through JSON.
    expect(JSON.parse(JSON.stringify(report))).toEqual(report)
  })

  it('has one curve point per step event, and every evaluation', () => {
    const steps = ofType(events, 'step')
    expect(report.curves.train.map((p) => p.step)).toEqual(steps.map((s) => s.step))
    expect(report.curves.train.map((p) => [p.loss, p.lr])).toEqual(steps.map((s) => [s.loss, s.lr]))
    expect(report.curves.eval.map((e) => [e.step, e.metrics])).toEqual(ofType(events, 'eval').map((e) => [e.step, e.metrics]))
    expect(report.curves.eval.map((e) => e.step)).toEqual([3, 6])
  })

  it('counts parameters against LoRA r = 8 and full fine-tuning', () => {
    const p = report.parameters!
    // 4 targets of 32×32 with k = 3; a 2-class head on 32 features.
    expect(p).toMatchObject({ adapter: 12, head: 66, total: 78, lora8: 4 * 8 * 64 })
    expect(p.full).toBe(ofType(events, 'prepared')[0]!.parameters.full)
    expect(p.ratios.adapterToLora8).toBeCloseTo(12 / 2048, 15)
    expect(p.ratios.trainableToLora8).toBeCloseTo(78 / (2048 + 66), 15)
    expect(p.ratios.trainableToFull).toBeCloseTo(78 / p.full, 15)
    expect(report.targets.map((t) => [t.name, t.shape, t.trainable, t.band])).toEqual(
      ['0.attention.self.query', '0.attention.self.value', '1.attention.self.query', '1.attention.self.value'].map((t) => [`bert.encoder.layer.${t}`, [32, 32], 3, [29, 32]])
    )
  })

  it("'before' spectra are numpy's singular values of the checkpoint's weights, with numpy's effective rank", () => {
    const layers = report.spectra!.layers
    expect(layers).toHaveLength(4)
    for (const layer of layers) {
      const reference = numpy.find((t) => t.name === `${layer.name}.weight`)!
      expect(layer.before.values).toHaveLength(reference.singularValues.length)
      layer.before.values.forEach((s, i) => close(s, reference.singularValues[i]!, 1e-10 * reference.singularValues[0]!))
      close(layer.before.erank, reference.effectiveRank, 1e-10)
      expect(layer.before.sigmaMax).toBe(layer.before.values[0])
      expect(layer.before.sigmaMin).toBe(layer.before.values.at(-1))
    }
  })

  it("'after' spectra are the last spectra event's, and |σ + δ| of the checkpoint's δ", async () => {
    const last = ofType(events, 'spectra').at(-1)!
    expect(report.spectra!.afterStep).toBe(6)
    const checkpoint = (await readCheckpoint(runDir))!
    report.spectra!.layers.forEach((layer, i) => {
      const event = last.layers.find((l) => l.name === layer.name)!
      expect(layer.after!.values).toEqual(event.now)
      // Variables are the adapters' δ in target order, then the head.
      const delta = checkpoint.tensors.variables[i]!.values
      const [start, end] = layer.band
      const expected = layer.before.values.map((s, j) => (j >= start && j < end ? Math.abs(s + delta[j - start]!) : s)).sort((a, b) => b - a)
      layer.after!.values.forEach((s, j) => close(s, expected[j]!, 1e-12))
      expect(layer.after!.values.slice(start, end)).not.toEqual(layer.before.values.slice(start, end))
      close(layer.after!.erank, erankByDefinition(layer.after!.values), 1e-12)
      close(layer.after!.erank, event.erank, 1e-12)
      close(layer.before.erank, event.erankBefore, 1e-12)
      expect(layer.erankChange).toBe(layer.after!.erank - layer.before.erank)
      expect(layer.after!.sigmaMax).toBe(Math.max(...layer.after!.values))
      expect(layer.after!.sigmaMin).toBe(Math.min(...layer.after!.values))
    })
  })

  it('final metrics are the last evaluation, best the highest accuracy', () => {
    const evals = ofType(events, 'eval')
    expect(report.metrics).toMatchObject({ key: 'accuracy', higherIsBetter: true, final: { step: 6, metrics: evals.at(-1)!.metrics } })
    const best = evals.reduce((a, b) => (b.metrics['accuracy']! > a.metrics['accuracy']! ? b : a))
    expect(report.metrics.best).toMatchObject({ step: best.step, metrics: best.metrics })
    expect(Object.keys(report.metrics.final!.metrics).sort()).toEqual(['accuracy', 'f1', 'loss', 'matthews'])
  })

  it('for an earlier checkpoint, takes spectra and metrics at or before its step', async () => {
    const earlier = await buildReport(runDir, { checkpoint: 'step-0000003' })
    expect(earlier.checkpoint).toEqual({ name: 'step-0000003', step: 3 })
    expect(earlier.spectra!.afterStep).toBe(2)
    const atTwo = ofType(events, 'spectra').find((e) => e.step === 2)!
    earlier.spectra!.layers.forEach((layer) => expect(layer.after!.values).toEqual(atTwo.layers.find((l) => l.name === layer.name)!.now))
    expect(earlier.metrics.final?.step).toBe(3)
    // The curves are the whole run's.
    expect(earlier.curves.train).toHaveLength(6)
    // …and the page marks where the checkpoint falls on them.
    const html = renderReportHtml(earlier)
    expectWellFormed(html)
    expect(html.match(/class="mark"/g)).toHaveLength(3)
    await expect(buildReport(runDir, { checkpoint: '../siva' })).rejects.toThrow(/not a checkpoint name/)
    await expect(buildReport(runDir, { checkpoint: 'step-0000099' })).rejects.toThrow(/no checkpoint step-0000099/)
  })

  it('renders one self-contained, well-formed page, with user text escaped', () => {
    const html = renderReportHtml(report)
    expectWellFormed(html)
    expectSelfContained(html)
    expect(html).not.toContain(hostileLabel)
    expect(html).not.toContain('<b>')
    expect(html).toContain('&#60;b&#62;&#38;&#34;')
    // Loss, validation scores, learning rate, 4 spectra, erank changes, parameter comparison.
    expect(html.match(/<svg\b/g)).toHaveLength(9)
    expect(html.match(/class="band"/g)).toHaveLength(4)
    expect(html).not.toContain('class="mark"')
    for (const layer of report.spectra!.layers) expect(html).toContain(layer.name)
    for (const text of ['LoRA r = 8', 'Full fine-tuning', 'erank before', 'accuracy', 'matthews', 'Learning rate']) expect(html).toContain(text)
  })

  it('draws a huge curve thinned, the same curve whole in the JSON', () => {
    const steps = 6000
    const huge: RunReport = { ...report, stepsDone: steps, curves: { ...report.curves, train: Array.from({ length: steps }, (_, i) => ({ step: i + 1, epoch: 0, loss: 1 / (i + 1), lr: 0.01, gradNorm: 1 })) } }
    const html = renderReportHtml(huge)
    expectWellFormed(html)
    const lossPath = /<path class="line c-raw" d="([^"]*)"/.exec(html)![1]!
    const points = lossPath.match(/[ML]/g)!.length
    expect(points).toBeGreaterThan(500)
    expect(points).toBeLessThanOrEqual(2000)
    expect(html).toContain('6,000 steps, drawn as the low and high of 1,000 buckets')
  })
})

describe('reports of other runs', () => {
  it('LoRA: no spectra section, and the page says so', async () => {
    const runDir = join(dir, 'lora')
    await train(siva({ method: 'lora', rank: 2, maxSteps: 2, evalEvery: 0 }), runDir)
    const report = await buildReport(runDir)
    expect(report.spectra).toBeUndefined()
    expect('spectra' in report).toBe(false)
    expect(report.targets).toHaveLength(4)
    expect(report.targets.every((t) => t.band === undefined)).toBe(true)
    expect(report.parameters).toMatchObject({ adapter: 4 * 2 * 64, lora8: 4 * 8 * 64 })
    expect(report.parameters!.ratios.adapterToLora8).toBe(0.25)
    const html = renderReportHtml(report)
    expectWellFormed(html)
    expectSelfContained(html)
    expect(html).toContain('records no spectra')
    expect(html).not.toContain('class="band"')
  })

  it('killed after a step and resumed, then cancelled and resumed: one curve point per step, the later replacing the earlier', async () => {
    const runDir = join(dir, 'resumed')
    const config = siva({ maxSteps: 8, checkpointEvery: 2, evalEvery: 4 })
    // A kill after step 3: the latest checkpoint is step 2, so the resume takes step 3 again.
    await train(config, runDir, { killAt: 3 })
    // Killed again before its first step: step 3 of the first try is no longer part of the run.
    await train({ resume: true }, runDir, { killAfter: 'prepared' })
    const restarting = await buildReport(runDir)
    expect(restarting).toMatchObject({ status: 'interrupted', stepsDone: 2, checkpoint: { step: 2 }, run: { resumedFrom: [2] } })
    expect(restarting.curves.train.map((p) => p.step)).toEqual([1, 2])
    const second = await train({ resume: true }, runDir, { cancelAt: 5 })
    expect(second[0]).toMatchObject({ type: 'started', resumedFrom: 2 })
    expect(second.at(-1)!.type).toBe('cancelled')
    const midway = await buildReport(runDir)
    expect(midway).toMatchObject({ status: 'cancelled', stepsDone: 5, checkpoint: { step: 5 }, run: { resumedFrom: [2, 2] } })
    expect(midway.curves.train.map((p) => p.step)).toEqual([1, 2, 3, 4, 5])
    expect(midway.spectra!.afterStep).toBe(4)
    expect(midway.metrics.final?.step).toBe(4)

    await train({ resume: true }, runDir)
    const all = await EventLog.read(runDir)
    const stepEvents = ofType(all, 'step')
    expect(stepEvents.filter((s) => s.step === 3)).toHaveLength(2)
    const report = await buildReport(runDir)
    expect(report).toMatchObject({ status: 'finished', stepsDone: 8, run: { resumedFrom: [2, 2, 5] } })
    expect(report.curves.train.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(report.curves.train[2]!.loss).toBe(stepEvents.filter((s) => s.step === 3).at(-1)!.loss)
    expect(new Set(report.curves.eval.map((e) => e.step)).size).toBe(report.curves.eval.length)
    expectWellFormed(renderReportHtml(report))
  })

  it('regression: Pearson is the key metric', async () => {
    const file = join(dir, 'scores.csv')
    const rows = Array.from({ length: 24 }, (_, i) => `${['great', 'fine', 'poor'][i % 3]} item ${i},${[4.5, 2.5, 0.5][i % 3]}`)
    writeFileSync(file, `text,label\n${rows.join('\n')}\n`)
    const runDir = join(dir, 'regress')
    await train(defaultTrainConfig({ model, data: file, task: 'regress', epochs: 1, maxSteps: 2, batchSize: 8, seed: 2, backend: 'wasm' }), runDir)
    const report = await buildReport(runDir)
    expect(report.metrics).toMatchObject({ key: 'pearson', higherIsBetter: true, final: { step: 2 } })
    expect(report.data!.labels).toBeUndefined()
    const html = renderReportHtml(report)
    expectWellFormed(html)
    expectSelfContained(html)
    for (const text of ['pearson', 'spearman', 'regression']) expect(html).toContain(text)
  })

  it('causal LM on tiny-random-gpt2: loss is the key metric, lower is better, with perplexity', async () => {
    const runDir = join(dir, 'causal')
    await train(defaultTrainConfig({ model: tinyGpt2, data: join(repoRoot, 'tests/fixtures/samples/brown-continuation.jsonl'), task: 'causal-lm', epochs: 1, maxSteps: 2, batchSize: 8, maxLength: 32, seed: 6, backend: 'wasm' }), runDir)
    const report = await buildReport(runDir)
    expect(report.metrics).toMatchObject({ key: 'loss', higherIsBetter: false, final: { step: 2 }, best: { step: 2 } })
    expect(report.parameters!.head).toBe(0)
    expect(report.spectra!.layers[0]!.name).toBe('transformer.h.0.attn.c_attn.q')
    const html = renderReportHtml(report)
    expectWellFormed(html)
    expectSelfContained(html)
    expect(html).toContain('perplexity')
  })

  it('a run stopped by its data: status failed, its message, no parameters', async () => {
    const file = join(dir, 'bad.csv')
    writeFileSync(file, 'text,label\ngood,pos\n,neg\n')
    const runDir = join(dir, 'bad')
    await expect(train(defaultTrainConfig({ model, data: file, task: 'classify', backend: 'wasm' }), runDir)).rejects.toThrow(/row 3/)
    const report = await buildReport(runDir)
    expect(report).toMatchObject({ status: 'failed', stepsDone: 0, error: expect.stringContaining('row 3'), targets: [], curves: { train: [], eval: [] } })
    expect(report.parameters).toBeUndefined()
    expect(report.checkpoint).toBeUndefined()
    const html = renderReportHtml(report)
    expectWellFormed(html)
    expectSelfContained(html)
    expect(html).toContain('No optimiser step was taken')
  })
})
