// The paper's comparison on the bundled demo (Universal Sentence Encoder lite, SpamAssassin e-mails):
// SiVA at three band sizes against its siblings, the same targets (layer 1's six projections), the same
// epochs, batch, token limit and head learning rate, several seeds each. Every run trains in the training
// worker exactly as `siva train` does and is scored once, after its last epoch, on the 400 held-out e-mails.
// Prints a table (mean ± sample std over seeds) and writes results.json, table.md and scatter.svg
// (held-out accuracy against mean effective-rank gain, one point per run).
//   npm run bench:compare [-- --seeds 3 --epochs 3 --methods siva-0.05,head --out bench/results/compare] [--replot]
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { restoreRun } from '../src/main/engine/export'
import { readTargetWeights } from '../src/main/engine/models/ops'
import { lowRankProduct } from '../src/main/engine/peft'
import { svd } from '../src/main/engine/linalg'
import { effectiveRank } from '../src/main/engine/spectra/metrics'
import { demoRecipe, demoTrainConfig, findDemo } from '../src/main/services/demoAssets'
import { TrainingSession } from '../src/main/workers/trainingSession'
import type { TrainConfig, TrainEvent } from '../src/shared/training'
import { inProcessDecompose as decompose } from '../tests/helpers/decompose'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    epochs: { type: 'string', default: String(demoRecipe.epochs) },
    methods: { type: 'string' },
    // Redraw table.md and scatter.svg from an earlier run's results.json, without training.
    replot: { type: 'boolean', default: false },
    out: { type: 'string', default: join(root, 'bench/results/compare') }
  }
})

interface Variant {
  id: string
  label: string
  config: Partial<TrainConfig>
}

const targets = demoRecipe.siva.targets
/** Learning rates: the spectral methods share the demo's; LoRA and full fine-tuning get 10× and 5× their defaults, as short runs need. */
const variants: Variant[] = [
  { id: 'siva-0.05', label: 'SiVA perc 0.05', config: { method: 'siva', targets, perc: 0.05, lr: demoRecipe.siva.lr } },
  { id: 'siva-0.1', label: 'SiVA perc 0.1', config: { method: 'siva', targets, perc: 0.1, lr: demoRecipe.siva.lr } },
  { id: 'siva-0.25', label: 'SiVA perc 0.25', config: { method: 'siva', targets, perc: 0.25, lr: demoRecipe.siva.lr } },
  { id: 'svdiff', label: 'SVDiff (all σ)', config: { method: 'svdiff', targets, lr: demoRecipe.siva.lr } },
  { id: 'topk-0.1', label: 'top-k perc 0.1', config: { method: 'topk', targets, perc: 0.1, lr: demoRecipe.siva.lr } },
  { id: 'lora-1', label: 'LoRA r=1', config: { method: 'lora', targets, rank: 1, alpha: 1, lr: 5e-3 } },
  { id: 'lora-8', label: 'LoRA r=8', config: { method: 'lora', targets, rank: 8, alpha: 8, lr: 5e-3 } },
  { id: 'full', label: 'full fine-tuning', config: { method: 'full', lr: 1e-4 } },
  { id: 'head', label: 'head only (linear probe)', config: { method: 'head' } }
]

interface RunResult {
  variant: string
  seed: number
  trainable: number
  accuracy: number
  f1: number
  loss: number
  /** Mean over the adapted matrices of erank(W after) − erank(W before); 0 when no weight changed. */
  erankGain: number
  secondsPerStep: number
  seconds: number
}

const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => demoRecipe.seed + i)
const epochs = Number(values.epochs)
const chosen = values.methods ? values.methods.split(',').map((id) => variants.find((v) => v.id === id) ?? fail(`unknown method ${id}`)) : variants
const out = resolve(values.out)

function fail(message: string): never {
  throw new Error(message)
}

async function train(config: TrainConfig, runDir: string): Promise<{ events: TrainEvent[] }> {
  const events: TrainEvent[] = []
  const session = new TrainingSession({ runDir, config, svdCacheDir: join(out, 'svd-cache'), versions: {}, onEvent: (event) => events.push(event) })
  await session.done
  const error = events.find((e) => e.type === 'error')
  if (error && error.type === 'error') throw new Error(`${runDir}: ${error.message}`)
  return { events }
}

/** erank after − before, averaged over the matrices the run changed (adapter targets, or every target for full fine-tuning). */
async function erankGain(runDir: string, method: string): Promise<number> {
  if (method === 'head') return 0
  const restored = await restoreRun(runDir, 'last', decompose)
  try {
    const gains: number[] = []
    const erankOf = (weight: Float64Array, m: number, n: number): number => effectiveRank(svd(weight, m, n, { vectors: false }).s)
    if (method === 'full') {
      const trained = new Map(restored.base.map((t) => [t.name, t.values]))
      // The same matrices the adapter methods adapt, for a like-for-like gain.
      for (const target of restored.plan.allTargets.filter((t) => new RegExp(targets).test(t.name))) {
        const before = await readTargetWeights(restored.source, target)
        const after = await readTargetWeights(restored.source, target, async (name) => Float64Array.from(trained.get(name) ?? (await restored.source.readFloat64(name))))
        gains.push(erankOf(after.weight, target.outFeatures, target.inFeatures) - erankOf(before.weight, target.outFeatures, target.inFeatures))
      }
    } else {
      for (const adapter of restored.adapters) {
        const { outFeatures: m, inFeatures: n } = adapter.target
        const { weight } = await readTargetWeights(restored.source, adapter.target)
        const delta = lowRankProduct(await adapter.lowRank(), m, n)
        const after = weight.map((w, i) => w + delta[i]!)
        gains.push(erankOf(after, m, n) - erankOf(weight, m, n))
      }
    }
    return gains.reduce((a, b) => a + b, 0) / Math.max(1, gains.length)
  } finally {
    await restored.close()
  }
}

function meanStd(xs: number[]): string {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0
  return `${mean.toFixed(3)} ± ${std.toFixed(3)}`
}

function scatter(results: RunResult[]): string {
  const width = 720
  const height = 400
  const pad = { left: 60, right: 210, top: 20, bottom: 50 }
  const xs = results.map((r) => r.erankGain)
  const ys = results.map((r) => r.accuracy)
  const [x0, x1] = [Math.min(0, ...xs), Math.max(...xs, 1e-9)]
  const [y0, y1] = [Math.min(...ys) - 0.005, Math.max(...ys) + 0.005]
  const px = (x: number): number => pad.left + ((x - x0) / (x1 - x0 || 1)) * (width - pad.left - pad.right)
  const py = (y: number): number => height - pad.bottom - ((y - y0) / (y1 - y0 || 1)) * (height - pad.top - pad.bottom)
  const colours = ['#1f77b4', '#4a9fdb', '#0b3d91', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#7f7f7f']
  const ids = chosen.map((v) => v.id)
  const points = results.map((r) => `<circle cx="${px(r.erankGain).toFixed(1)}" cy="${py(r.accuracy).toFixed(1)}" r="5" fill="${colours[ids.indexOf(r.variant) % colours.length]}" fill-opacity="0.8"><title>${r.variant} seed ${r.seed}: ${r.accuracy.toFixed(4)}, erank gain ${r.erankGain.toFixed(3)}</title></circle>`)
  const legend = chosen.map((v, i) => `<g transform="translate(${width - pad.right + 16},${pad.top + 18 * i})"><circle r="5" cx="5" cy="-4" fill="${colours[i % colours.length]}"/><text x="16" font-size="12">${v.label}</text></g>`)
  const ticks = (lo: number, hi: number, n: number): number[] => Array.from({ length: n + 1 }, (_, i) => lo + ((hi - lo) * i) / n)
  const xTicks = ticks(x0, x1, 5).map((x) => `<text x="${px(x).toFixed(1)}" y="${height - pad.bottom + 18}" font-size="11" text-anchor="middle">${x.toFixed(2)}</text>`)
  const yTicks = ticks(y0, y1, 4).map((y) => `<text x="${pad.left - 8}" y="${py(y).toFixed(1)}" font-size="11" text-anchor="end" dominant-baseline="middle">${(100 * y).toFixed(1)}%</text>`)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#333"/>
<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#333"/>
${xTicks.join('\n')}
${yTicks.join('\n')}
<text x="${(pad.left + width - pad.right) / 2}" y="${height - 12}" font-size="12" text-anchor="middle">mean effective-rank gain of the adapted matrices</text>
<text transform="translate(16,${(pad.top + height - pad.bottom) / 2}) rotate(-90)" font-size="12" text-anchor="middle">held-out accuracy</text>
${points.join('\n')}
${legend.join('\n')}
</svg>
`
}

async function main(): Promise<void> {
  await mkdir(out, { recursive: true })
  const started = performance.now()
  const results: RunResult[] = values.replot ? (JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { results: RunResult[] }).results : await measureAll()
  await report(results, started)
}

async function measureAll(): Promise<RunResult[]> {
  const demo = findDemo() ?? fail('the demo is not installed (npm ci)')
  const results: RunResult[] = []
  for (const variant of chosen) {
    for (const seed of seeds) {
      const runDir = join(out, 'runs', `${variant.id}-seed${seed}`)
      const config = demoTrainConfig(demo, { epochs, seed, ...variant.config })
      const t0 = performance.now()
      const { events } = await train(config, runDir)
      const prepared = events.find((e) => e.type === 'prepared')
      const evals = events.filter((e) => e.type === 'eval')
      const finished = events.find((e) => e.type === 'finished')
      const steps = events.filter((e) => e.type === 'step')
      if (!prepared || prepared.type !== 'prepared' || evals.length === 0 || !finished || finished.type !== 'finished') throw new Error(`${runDir}: the run did not finish`)
      const metrics = (evals.at(-1) as Extract<TrainEvent, { type: 'eval' }>).metrics
      const result: RunResult = {
        variant: variant.id,
        seed,
        trainable: prepared.parameters.total,
        accuracy: metrics['accuracy']!,
        f1: metrics['f1']!,
        loss: metrics['loss']!,
        erankGain: await erankGain(runDir, variant.config.method!),
        // Steady-state step time: the last step event's rate (a moving average over recent steps).
        secondsPerStep: 1 / (steps.at(-1) as Extract<TrainEvent, { type: 'step' }>).stepsPerSecond,
        seconds: (performance.now() - t0) / 1000
      }
      results.push(result)
      console.error(`${variant.id} seed ${seed}: accuracy ${result.accuracy.toFixed(4)}, f1 ${result.f1.toFixed(4)}, trainable ${result.trainable}, erank gain ${result.erankGain.toFixed(3)}, ${result.secondsPerStep.toFixed(3)} s/step, ${result.seconds.toFixed(0)} s`)
      await writeFile(join(out, 'results.json'), `${JSON.stringify({ date: new Date().toISOString(), epochs, seeds, recipe: demoRecipe, results }, null, 1)}\n`)
    }
  }
  return results
}

async function report(results: RunResult[], started: number): Promise<void> {
  const rows = chosen.map((variant) => {
    const mine = results.filter((r) => r.variant === variant.id)
    return `| ${variant.label} | ${mine[0]!.trainable.toLocaleString('en')} | ${meanStd(mine.map((r) => r.accuracy))} | ${meanStd(mine.map((r) => r.f1))} | ${meanStd(mine.map((r) => r.erankGain))} | ${(mine.reduce((a, r) => a + r.secondsPerStep, 0) / mine.length).toFixed(3)} | ${variant.config.lr ?? '–'} |`
  })
  const table = [
    `| method | trainable | held-out accuracy | F1 | erank gain | s/step | lr |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...rows
  ].join('\n')
  await writeFile(join(out, 'table.md'), `${table}\n`)
  await writeFile(join(out, 'scatter.svg'), scatter(results))
  console.log(table)
  console.log(`\n${results.length} runs in ${((performance.now() - started) / 60000).toFixed(1)} min; ${out}/results.json, table.md, scatter.svg`)
}

await main()
