import { resolve } from 'node:path'
import { resolveTrainConfig } from '../engine/training/loop'
import { describeMemory, formatBytes } from '../engine/training/memoryEstimate'
import { amountError, defaultPerc, defaultRank, isMethodName, methodInfo, methodNames, type Amount } from '../../shared/methods'
import type { TrainConfig, TrainEvent } from '../../shared/training'
import { namePattern } from '../../shared/pattern/safePattern'
import { TrainingSession } from '../workers/trainingSession'
import { commonFlags, parseCommandArgs, plural, printedHelp, svdCacheFolder } from './args'
import { backendNotice } from './backendNotice'
import { CliUsageError } from './errors'
import { modelPath } from './modelArgument'
import { formatDuration, ProgressLine, stageLine } from './progress'
import pkg from '../../../package.json' with { type: 'json' }

/** 'siva (default) | svdiff | …' and '1e-2 siva, svdiff, topk; 5e-4 lora; …', from the method catalogue. */
const methodList = methodNames.map((name) => (name === 'siva' ? `${name} (default)` : name)).join(' | ')
const lrDefaults = [...new Set(methodNames.map((name) => methodInfo(name).defaultLr))]
  .map((lr) => `${lr.toExponential()} ${methodNames.filter((name) => methodInfo(name).defaultLr === lr).join(', ')}`)
  .join('; ')

const help = `usage: siva train --model DIR --data FILE|DIR --task TASK --out RUN_DIR [options]
       siva train --resume RUN_DIR [--json-events] [--quiet]

Fine-tunes a Hugging Face checkpoint (gpt2, bert, roberta, deberta-v2 or vit) or the Universal Sentence Encoder lite
(a tfjs graph model; see 'siva demo') with SiVA or one of its siblings, in a worker thread, writing
everything to RUN_DIR: run.json, events.jsonl, the encoded data and checkpoints. Ctrl-C stops after the current step with a checkpoint (press it twice to stop at once);
--resume continues from the last checkpoint exactly as if the run had not stopped.

required:
  --model DIR|ID           checkpoint folder (config.json, safetensors, tokenizer or preprocessor files), or a
                           Hugging Face Hub id (org/name[@REVISION]) in the local Hugging Face cache,
                           downloaded into it first when missing (not with HF_HUB_OFFLINE=1)
  --data FILE|DIR          training data (see 'siva data check --help' for the formats)
  --task TASK              classify | regress | causal-lm | image-classify
  --out RUN_DIR            a new, empty folder for the run

method:
  --method M               ${methodList}
  --perc P | --k K         singular values trained per matrix: fraction (default ${defaultPerc}) or count (at most
                           the matrix's min(out, in): a larger k trains all of them)
  --rank R --alpha A       LoRA rank (default ${defaultRank}) and alpha (default = rank)
  --targets REGEX          which projections to adapt (default: the architecture's, e.g. q and v)
  --override REGEX:SETTING per-layer setting, repeatable; the last match wins. SETTING is perc=P,
                           k=K, rank=R or skip, e.g. --override 'layer\\.11\\.:k=8'

training:
  --epochs N               (default 3)            --max-steps N     stop after N optimiser steps
  --batch-size B           (default 16; 8 for causal-lm)
  --grad-accum N           micro-batches per optimiser step (default 1)
  --lr LR                  adapter (or full model) learning rate, by default per method:
                           ${lrDefaults}
  --head-lr LR             task head learning rate (default 1e-3; 3e-2 for use-lite)
  --weight-decay W         AdamW decoupled weight decay (default 0)
  --schedule S             linear (default) | cosine | constant, after --warmup-ratio (default 0.06)
  --max-grad-norm N        gradient clipping (default 1)
  --no-dropout             train without the checkpoint's dropout (default: as transformers, with it)
  --seed S                 (default 42)
  --max-length N           text: token limit (default: the tokenizer's, at most 512)
  --pack                   causal-lm plain text: join texts into full blocks
  --validation FILE|DIR    a separate validation set (default: 10% of the data, stratified)
  --validation-fraction F  (default 0.1)
  --eval-every N           evaluate every N steps (default: each epoch)
  --spectra-every N        spectra events every N steps (default 10)
  --checkpoint-every N     (default 50)
  --backend B              auto (default) | tensorflow-gpu | webgpu | tensorflow | wasm | cpu
                           (webgpu by name also accepts a software adapter such as SwiftShader)
  --text-column, --text-pair-column, --label-column, --prompt-column, --path-column NAME
  --messages-column NAME   causal-lm chat data: the conversation column (default: messages, when present),
                           rendered with the checkpoint's chat_template; loss on assistant turns only

output:
  --svd-cache DIR          where SVDs are kept between runs (default ~/.cache/siva-studio/svd)
  --json-events            every event as one JSON line on stdout
  --quiet                  no progress line on stderr
  -h, --help               this help`

const numberOptions = {
  perc: 'perc',
  k: 'k',
  rank: 'rank',
  alpha: 'alpha',
  epochs: 'epochs',
  'max-steps': 'maxSteps',
  'batch-size': 'batchSize',
  'grad-accum': 'gradientAccumulation',
  lr: 'lr',
  'head-lr': 'headLr',
  'weight-decay': 'weightDecay',
  'warmup-ratio': 'warmupRatio',
  'max-grad-norm': 'maxGradNorm',
  seed: 'seed',
  'max-length': 'maxLength',
  'validation-fraction': 'validationFraction',
  'eval-every': 'evalEvery',
  'spectra-every': 'spectraEvery',
  'checkpoint-every': 'checkpointEvery'
} as const satisfies Record<string, keyof TrainConfig>

const integerOptions = new Set(['k', 'rank', 'epochs', 'max-steps', 'batch-size', 'grad-accum', 'seed', 'max-length', 'eval-every', 'spectra-every', 'checkpoint-every'])

export async function trainCommand(argv: string[]): Promise<number> {
  const stringOptions = ['model', 'data', 'task', 'out', 'resume', 'method', 'targets', 'schedule', 'validation', 'backend', 'svd-cache', 'text-column', 'text-pair-column', 'label-column', 'prompt-column', 'path-column', 'messages-column', ...Object.keys(numberOptions)]
  const { values } = parseCommandArgs('train', {
    args: argv,
    allowPositionals: false,
    options: {
      ...Object.fromEntries(stringOptions.map((name) => [name, { type: 'string' as const }])),
      override: { type: 'string', multiple: true },
      pack: { type: 'boolean', default: false },
      'no-dropout': { type: 'boolean', default: false },
      'json-events': { type: 'boolean', default: false },
      ...commonFlags
    }
  })
  const v = values as Record<string, string | boolean | string[] | undefined>
  if (printedHelp(values, help)) return 0
  const svdCacheDir = svdCacheFolder(v['svd-cache'])
  let runDir: string
  let config: TrainConfig | undefined
  if (typeof v['resume'] === 'string') {
    const extra = Object.keys(v).filter((key) => v[key] !== undefined && v[key] !== false && !['resume', 'json-events', 'quiet', 'svd-cache'].includes(key))
    if (extra.length > 0) throw new CliUsageError(`--resume continues a run with the configuration it was started with; leave out --${extra.join(', --')}`)
    runDir = resolve(v['resume'])
  } else {
    for (const required of ['model', 'data', 'task', 'out']) if (typeof v[required] !== 'string') throw new CliUsageError(`train needs --${required}; see 'siva train --help'`)
    runDir = resolve(v['out'] as string)
    // A Hub id becomes its snapshot folder in the cache: the run records (and resumes from) that folder.
    v['model'] = await modelPath(v['model'] as string, { quiet: v['quiet'] === true })
    config = await resolveTrainConfig(parseConfig(v))
  }

  const progress = v['quiet'] ? undefined : new ProgressLine()
  const json = Boolean(v['json-events'])
  const view = new ProgressView(progress)
  const session = new TrainingSession({
    runDir,
    ...(config ? { config } : { resume: true }),
    svdCacheDir,
    versions: { 'siva-studio': pkg.version, node: process.versions.node },
    onEvent: (event) => {
      if (json) process.stdout.write(`${JSON.stringify(event)}\n`)
      view.show(event)
    }
  })
  let interrupts = 0
  const onInterrupt = (): void => {
    interrupts++
    if (interrupts === 1) {
      progress?.done('siva train: stopping after this step (a checkpoint is written); press Ctrl-C again to stop at once')
      session.cancel()
    } else void session.kill()
  }
  process.on('SIGINT', onInterrupt)
  try {
    const outcome = await session.done
    progress?.done()
    if (!json) process.stdout.write(view.summary(runDir))
    return outcome === 'cancelled' ? 130 : 0
  } catch (error) {
    progress?.done()
    throw error
  } finally {
    process.off('SIGINT', onInterrupt)
  }
}

/** 'REGEX:perc=0.2' | 'REGEX:k=4' | 'REGEX:rank=4' | 'REGEX:skip' → an override; the regex may itself hold colons. */
export function parseOverride(text: string): NonNullable<TrainConfig['overrides']>[number] {
  const cut = text.lastIndexOf(':')
  if (cut <= 0) throw new CliUsageError(`--override takes REGEX:SETTING (perc=P, k=K, rank=R or skip), got '${text}'`)
  const pattern = text.slice(0, cut)
  const setting = text.slice(cut + 1)
  try {
    namePattern(pattern, `--override '${text}'`)
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error))
  }
  if (setting === 'skip') return { pattern, skip: true }
  const match = /^(perc|k|rank)=([0-9.eE+-]+)$/.exec(setting)
  const value = match ? Number(match[2]) : NaN
  if (!match || !Number.isFinite(value) || value <= 0 || (match[1] !== 'perc' && !Number.isInteger(value)) || (match[1] === 'perc' && value > 1)) {
    throw new CliUsageError(`--override '${text}': the setting must be perc=P (0 < P ≤ 1), k=K, rank=R (positive integers) or skip`)
  }
  return { pattern, [match[1]!]: value }
}

/** The run's settings the flags give; resolveTrainConfig fills in the rest. */
function parseConfig(v: Record<string, string | boolean | string[] | undefined>): Partial<TrainConfig> & Pick<TrainConfig, 'model' | 'data' | 'task'> {
  const task = v['task'] as string
  if (!['classify', 'regress', 'causal-lm', 'image-classify'].includes(task)) throw new CliUsageError(`--task must be classify, regress, causal-lm or image-classify, got '${task}'`)
  const method = (v['method'] as string | undefined) ?? 'siva'
  if (!isMethodName(method)) throw new CliUsageError(`--method must be ${methodNames.slice(0, -1).join(', ')} or ${methodNames.at(-1)}, got '${method}'`)
  const partial: Record<string, unknown> = { model: resolve(v['model'] as string), data: resolve(v['data'] as string), task, method }
  for (const [flag, key] of Object.entries(numberOptions)) {
    const text = v[flag]
    if (typeof text !== 'string') continue
    const number = Number(text)
    if (!Number.isFinite(number) || (integerOptions.has(flag) && !Number.isInteger(number)) || number < 0) throw new CliUsageError(`--${flag} must be a ${integerOptions.has(flag) ? 'non-negative integer' : 'non-negative number'}, got '${text}'`)
    partial[key] = number
  }
  if (partial['perc'] !== undefined && partial['k'] !== undefined) throw new CliUsageError('give --perc or --k, not both')
  if (partial['perc'] !== undefined && !((partial['perc'] as number) > 0 && (partial['perc'] as number) <= 1)) throw new CliUsageError(`--perc must be in (0, 1], got '${v['perc']}'`)
  // The engine's own rule (the method catalogue): refused here, before any file is read.
  const problem = amountError(method, partial as Amount)
  if (problem) throw new CliUsageError(`--${problem.replace(/^LoRA /, '')}`)
  for (const key of ['batchSize', 'gradientAccumulation', 'epochs'] as const) if (partial[key] === 0) throw new CliUsageError(`--${key === 'batchSize' ? 'batch-size' : key === 'epochs' ? 'epochs' : 'grad-accum'} must be at least 1`)
  if (typeof v['targets'] === 'string') {
    try {
      namePattern(v['targets'], '--targets')
    } catch (error) {
      throw new CliUsageError(error instanceof Error ? error.message : String(error))
    }
    partial['targets'] = v['targets']
  }
  if (typeof v['schedule'] === 'string') {
    if (!['linear', 'cosine', 'constant'].includes(v['schedule'])) throw new CliUsageError(`--schedule must be linear, cosine or constant, got '${v['schedule']}'`)
    partial['schedule'] = v['schedule']
  }
  if (typeof v['backend'] === 'string') {
    if (!['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'].includes(v['backend'])) throw new CliUsageError(`--backend must be auto, tensorflow-gpu, webgpu, tensorflow, wasm or cpu, got '${v['backend']}'`)
    partial['backend'] = v['backend']
  }
  if (Array.isArray(v['override'])) partial['overrides'] = v['override'].map(parseOverride)
  if (typeof v['validation'] === 'string') partial['validation'] = resolve(v['validation'])
  if (v['pack']) partial['pack'] = true
  if (v['no-dropout']) partial['dropout'] = false
  const columns = {
    ...(typeof v['text-column'] === 'string' && { text: v['text-column'] }),
    ...(typeof v['text-pair-column'] === 'string' && { textPair: v['text-pair-column'] }),
    ...(typeof v['label-column'] === 'string' && { label: v['label-column'] }),
    ...(typeof v['prompt-column'] === 'string' && { prompt: v['prompt-column'] }),
    ...(typeof v['path-column'] === 'string' && { path: v['path-column'] }),
    ...(typeof v['messages-column'] === 'string' && { messages: v['messages-column'] })
  }
  if (Object.keys(columns).length > 0) partial['columns'] = columns
  return partial as Partial<TrainConfig> & Pick<TrainConfig, 'model' | 'data' | 'task'>
}

/** The progress line and the closing summary, from the event stream alone (also what `siva demo` shows and reads). */
export class ProgressView {
  private totalSteps = 0
  lastStep: Extract<TrainEvent, { type: 'step' }> | undefined
  lastEval: Extract<TrainEvent, { type: 'eval' }> | undefined
  prepared: Extract<TrainEvent, { type: 'prepared' }> | undefined
  finished: Extract<TrainEvent, { type: 'finished' }> | undefined
  lastSpectra: Extract<TrainEvent, { type: 'spectra' }> | undefined

  constructor(private readonly progress: ProgressLine | undefined) {}

  show(event: TrainEvent): void {
    switch (event.type) {
      case 'started':
        // A line of its own (not rewritten by the next one): which backend trains, and why not the GPU.
        this.progress?.done(backendNotice(event))
        break
      case 'stage':
        this.progress?.update(stageLine(event))
        break
      case 'prepared': {
        this.prepared = event
        this.totalSteps = event.totalSteps
        const p = event.parameters
        this.progress?.done(`siva train: ${plural(event.targets.length, 'target')}, ${p.total.toLocaleString('en')} trainable parameters (adapter ${p.adapter.toLocaleString('en')}, head ${p.head.toLocaleString('en')}; LoRA r=8 would train ${p.lora8.toLocaleString('en')}, full fine-tuning ${p.full.toLocaleString('en')}); ${event.data.train} training and ${event.data.validation} validation examples; ${event.totalSteps} steps`)
        if (event.memory) this.progress?.done(`siva train: memory: ${describeMemory(event.memory)}${event.memory.limit ? ` of ${formatBytes(event.memory.limit.bytes)}` : ''}`)
        // Warnings are shown even with --quiet: they say something about the run's result, not its progress.
        for (const warning of event.warnings ?? []) {
          if (this.progress) this.progress.done(`siva train: warning: ${warning}`)
          else process.stderr.write(`siva train: warning: ${warning}\n`)
        }
        break
      }
      case 'step': {
        this.lastStep = event
        const eta = formatDuration(event.etaSeconds)
        this.progress?.update(`step ${event.step}/${this.totalSteps} · epoch ${event.epoch + 1} · loss ${event.loss.toFixed(4)} · lr ${event.lr.toExponential(1)} · ${event.stepsPerSecond.toFixed(2)} it/s · ETA ${eta}`)
        break
      }
      case 'eval':
        this.lastEval = event
        this.progress?.done(`eval at step ${event.step}: ${Object.entries(event.metrics).map(([k, value]) => `${k} ${value.toFixed(4)}`).join(', ')}${event.best ? ' (best)' : ''}`)
        break
      case 'spectra':
        this.lastSpectra = event
        break
      case 'paused':
        this.progress?.done(`paused at step ${event.step}`)
        break
      case 'cancelled':
        this.progress?.done(`cancelled at step ${event.step}; resume with: siva train --resume RUN_DIR`)
        break
      case 'finished':
        this.finished = event
        break
      case 'error':
        this.progress?.done(`error: ${event.message}`)
        break
      default:
        break
    }
  }

  summary(runDir: string): string {
    const lines = [`run: ${runDir}`]
    if (this.prepared) lines.push(`trainable parameters: ${this.prepared.parameters.total.toLocaleString('en')}`)
    if (this.lastStep) lines.push(`steps: ${this.lastStep.step}, last loss ${this.lastStep.loss.toFixed(4)}`)
    if (this.lastEval) lines.push(`validation: ${Object.entries(this.lastEval.metrics).map(([k, value]) => `${k} ${value.toFixed(4)}`).join(', ')}`)
    if (this.finished?.best) lines.push(`best: step ${this.finished.best.step}`)
    if (this.lastSpectra && this.lastSpectra.layers.length > 0) {
      const gains = this.lastSpectra.layers.map((l) => l.erank - l.erankBefore)
      lines.push(`effective rank change across ${plural(gains.length, 'adapted matrix', 'adapted matrices')}: mean ${(gains.reduce((a, b) => a + b, 0) / gains.length).toExponential(2)}`)
    }
    if (this.finished) lines.push(`time: ${formatDuration(this.finished.seconds)}`)
    return `${lines.join('\n')}\n`
  }
}

