import * as tf from '@tensorflow/tfjs'
import { selectBackend, type BackendChoice } from '../backend'
import { checkWebGpuFits } from '../backend/webgpu/limits'
import { epochOrder } from '../data'
import { openCheckpoint, type TensorSource } from '../io'
import { lossOf, taskLoss } from '../models/loss'
import type { AdaptableLinear, BuiltModel, ModelTask } from '../models/types'
import { checkpointHeadLr, defaultHeadLr } from '../models/registry'
import { adaptTargets, countTrainable, selectTargets, type Adapter, type Decompose } from '../peft'
import { effectiveRank } from '../spectra/metrics'
import { comparisonLoraRank, defaultPerc, methodInfo } from '../../../shared/methods'
import type { LayerSpectrumNow, TargetSummary, TrainConfig, TrainEvent, TrainStage } from '../../../shared/training'
import { trainingDefaults } from '../../../shared/trainDefaults'
import { fingerprintData } from './fingerprint'
import { accuracy, f1, keyMetric, matthews, pearson, perplexity, spearman } from './metrics'
import { AdamW, clipToNorm, globalNorm, learningRateFactor, type ParamGroup } from './optimizer'
import { createRunFolder, EventLog, latestCheckpointName, readCheckpoint, readRunInfo, removeLeftovers, writeCheckpoint, type CheckpointState, type CheckpointTensors, type RunInfo } from './runFolder'
import { edgeGapWarnings, recordingDecompose, runBasisDecompose, writeRunBasis } from './runBasis'
import { acquireRunLock, lockOwner, releaseRunLock, type RunLockOwner } from './runLock'
import { adaptOptions, planRun } from './plan'
import type { ParallelEncoding } from '../data'
import { openTrainData, type BatchSource, type TrainBatch, type TrainData } from './trainData'
import { checkMemoryFits, estimateMemory } from './memoryEstimate'

/** What the host lends the loop: SVDs (through its worker pool and cache) and a way to pause. */
export interface TrainHost {
  decompose: Decompose
  /** Checked between steps: pause waits, cancel stops after a checkpoint. */
  control?: TrainControl
  signal?: AbortSignal
  versions?: Record<string, string>
  /**
   * Called once the backend is chosen, before anything runs on it; returns how many threads its matmul
   * uses (the host starts helper threads for the wasm kernel here, since only it may own threads).
   */
  onBackend?: (choice: BackendChoice) => number | Promise<number>
  /**
   * The token the run's lock is taken with (runLock.ts). A host that can outlive its trainer (a worker
   * thread it may terminate) passes its own, to release the lock when the trainer dies without doing so.
   */
  lockToken?: string
  /** Worker threads to tokenise a large text dataset in (the host owns threads); without it, this thread does. */
  parallelEncoding?: ParallelEncoding
}

/** Pause, resume and cancel from outside the loop (the worker's messages, the CLI's Ctrl-C). */
export class TrainControl {
  private pausedFlag = false
  private cancelledFlag = false
  private wake: (() => void) | undefined

  get paused(): boolean {
    return this.pausedFlag
  }

  get cancelled(): boolean {
    return this.cancelledFlag
  }

  pause(): void {
    this.pausedFlag = true
  }

  resume(): void {
    this.pausedFlag = false
    this.wake?.()
  }

  cancel(): void {
    this.cancelledFlag = true
    this.wake?.()
  }

  /** Resolves when not paused (or cancelled). */
  async whilePaused(): Promise<void> {
    while (this.pausedFlag && !this.cancelledFlag) await new Promise<void>((resolve) => (this.wake = resolve))
  }
}

/** The defaults `siva train` and the app start from, per task. */
export function defaultTrainConfig(partial: Partial<TrainConfig> & Pick<TrainConfig, 'model' | 'data' | 'task'>): TrainConfig {
  const method = partial.method ?? 'siva'
  // Learning rate and amount from the method catalogue (spectral methods take much larger steps).
  const { spectral, defaultLr } = methodInfo(method)
  return {
    validationFraction: 0.1,
    method,
    epochs: 3,
    batchSize: partial.task === 'causal-lm' ? 8 : 16,
    lr: defaultLr,
    headLr: defaultHeadLr,
    seed: 42,
    evalEvery: 0,
    spectraEvery: 10,
    // Accumulation, weight decay, schedule, warmup, clipping and checkpoint interval: as the Train step shows them.
    ...trainingDefaults,
    backend: 'auto',
    ...(spectral && partial.perc === undefined && partial.k === undefined && { perc: defaultPerc }),
    ...partial
  } as TrainConfig
}

/**
 * defaultTrainConfig for a run about to start: without a head learning rate given, the one the checkpoint's
 * family asks for (which reads the checkpoint's header). What `siva train` and the back end start runs with.
 */
export async function resolveTrainConfig(partial: Partial<TrainConfig> & Pick<TrainConfig, 'model' | 'data' | 'task'>): Promise<TrainConfig> {
  const config = defaultTrainConfig(partial)
  if (partial.headLr === undefined) config.headLr = await checkpointHeadLr(config.model)
  return config
}

interface Session {
  source: TensorSource
  data: TrainData
  model: BuiltModel
  adapters: Adapter[]
  optimizer: AdamW
  task: ModelTask
  variables: tf.Variable[]
  /** What each of `variables` is, in the user's words, for messages. */
  variableNames: string[]
}

/**
 * Train as `config` says, in `runDir`, yielding every event as it is also appended to events.jsonl. With
 * `resume`, the run continues from its latest checkpoint with the configuration it was started with.
 * Everything tfjs allocates is released when the generator ends, however it ends.
 */
export async function* trainRun(configOrResume: TrainConfig | { resume: true }, runDir: string, host: TrainHost): AsyncGenerator<TrainEvent> {
  const resuming = 'resume' in configOrResume
  const info = resuming ? await readRunInfo(runDir) : undefined
  const config = info ? info.config : (configOrResume as TrainConfig)
  const owner = lockOwner(host.lockToken)
  // Resuming: the lock first, before anything reads, repairs or writes the folder. A new run's folder is made with it.
  if (resuming) await acquireRunLock(runDir, owner.token)
  let locked = resuming
  try {
    yield* trainLocked(config, info, runDir, host, () => (locked = true), owner)
  } finally {
    if (locked) await releaseRunLock(runDir, owner.token)
  }
}

async function* trainLocked(config: TrainConfig, info: RunInfo | undefined, runDir: string, host: TrainHost, onLocked: () => void, owner: RunLockOwner): AsyncGenerator<TrainEvent> {
  const resuming = info !== undefined
  const backend = await selectBackend(config.backend)
  const threads = (await host.onBackend?.(backend)) ?? 1
  const fingerprint = { train: await fingerprintData(config.data), ...(config.validation !== undefined && { validation: await fingerprintData(config.validation) }) }
  if (info?.data) {
    // The encoded data in the run folder came from the files as they were: training on changed files would silently mix the two.
    for (const side of ['train', 'validation'] as const) {
      const before = info.data[side]
      const now = fingerprint[side]
      if (before && now && before.sha256 !== now.sha256) throw new Error(`${now.path} changed since the run started (sha256 ${before.sha256.slice(0, 12)}… then, ${now.sha256.slice(0, 12)}… now); resuming would train on different data — start a new run instead`)
    }
  }
  if (!resuming) {
    await createRunFolder(runDir, { config, created: new Date().toISOString(), versions: { ...host.versions, tfjs: tf.version_core }, backend: backend.name, data: fingerprint }, owner)
    onLocked()
  } else await removeLeftovers(runDir)
  const log = await EventLog.open(runDir)
  const checkpoint = resuming ? await readCheckpoint(runDir) : undefined
  const started = performance.now() - (checkpoint?.state.seconds ?? 0) * 1000
  yield await log.append({ type: 'started', config, backend: { name: backend.name, skipped: backend.skipped, ...(backend.matmul && { matmul: backend.matmul }), ...(backend.adapter && { adapter: backend.adapter }), ...(backend.name !== 'webgpu' && { threads }) }, ...(checkpoint && { resumedFrom: checkpoint.state.step }) })

  let session: Session | undefined
  // What preparing has taken so far, given back in reverse if it fails before the session holds it all
  // (a long-lived back end starts many runs: each failed one kept its files open).
  const taken: (() => unknown)[] = []
  try {
    // ---- data, model, method
    const data = yield* withStages(log, { stage: 'data', done: 0, total: 0, detail: resuming ? 'reopening' : 'checking' }, (stage) => openTrainData(config, runDir, { reuse: resuming, ...(host.signal && { signal: host.signal }), ...(host.parallelEncoding && { parallel: host.parallelEncoding }), onStage: (done, total, detail) => stage({ stage: 'data', done, total, detail }) }))
    taken.push(() => data.close())
    const source = await openCheckpoint(config.model)
    taken.push(() => source.close())
    const plan = planRun(config, source)
    const { family, task, method, allTargets, targets } = plan
    if (backend.adapter) checkWebGpuFits(config, source, backend.adapter)
    // What the run will hold, said before minutes of SVDs; refused here when the backend cannot hold it.
    const memory = memoryOf(config, plan, source, data, backend.name)
    checkMemoryFits(memory)
    // A resumed run's δ goes back onto the vectors it trained on (runBasis.ts); a new run stores them.
    const basis = resuming ? await runBasisDecompose(runDir, host.decompose, host.versions?.['siva-studio']) : undefined
    const recorder = basis ? undefined : recordingDecompose(host.decompose)
    const options = adaptOptions(config, plan, basis?.decompose ?? recorder!.decompose, host.signal)
    // Spectral methods decompose each target (or read the run's basis back); LoRA only makes its adapters.
    const { spectral, kind } = methodInfo(config.method)
    const adapting: TrainStage = spectral ? 'svd' : 'model'
    const firstAdapt = kind === 'adapter' && targets.length > 0 ? { stage: adapting, done: 0, total: targets.length, detail: targets[0]!.name } : undefined
    const svdLeft = spectral ? svdTimeLeft(targets) : undefined
    const { adapters, linears } = yield* withStages(log, firstAdapt, (stage) =>
      adaptTargets(source, targets, method, {
        ...options,
        onProgress: (done, total, target) => {
          const etaSeconds = done < total ? svdLeft?.(done) : undefined
          stage({ stage: adapting, done, total, detail: targets[done]?.name ?? target, ...(etaSeconds !== undefined && { etaSeconds }) })
        }
      })
    )
    taken.push(() => adapters.forEach((a) => a.dispose()))
    basis?.checkBands(adapters)
    if (recorder) await writeRunBasis(runDir, adapters, recorder.taken, { ...(host.versions?.['siva-studio'] && { computedBy: `siva-studio ${host.versions['siva-studio']}` }) })
    recorder?.taken.clear()
    yield await log.append({ type: 'stage', stage: 'model', done: 0, total: 0 })
    const model = await family.build(source, source.config!, { task, ...(data.numLabels !== undefined && { numLabels: data.numLabels }), linears, trainAll: method.kind === 'full', seed: config.seed })
    taken.push(() => model.dispose())
    const adapterVariables = method.kind === 'full' ? model.baseVariables : adapters.flatMap((a) => a.variables)
    const groups: ParamGroup[] = [
      { name: method.kind === 'full' ? 'model' : 'adapter', variables: adapterVariables, lr: config.lr, weightDecay: config.weightDecay },
      { name: 'head', variables: model.headVariables, lr: config.headLr, weightDecay: config.weightDecay }
    ].filter((g) => g.variables.length > 0)
    const optimizer = new AdamW(groups)
    const adapterNames = method.kind === 'full' ? model.baseVariables.map((_, i) => model.baseTensors?.[i] ?? `base weight ${i}`) : adapters.flatMap((a) => a.variables.map((_, j) => (a.variables.length === 1 ? `${a.target.name} (${method.name} δ)` : `${a.target.name} (${method.name} parameter ${j + 1} of ${a.variables.length})`)))
    const variableNames = groups.flatMap((g) => (g.name === 'head' ? model.head.tensors.map((t) => `${t} (task head)`) : adapterNames))
    session = { source, data, model, adapters, optimizer, task, variables: optimizer.variables, variableNames }
    taken.length = 0

    // ---- counts and the starting spectra
    const headCount = model.headVariables.reduce((sum, v) => sum + v.size, 0)
    // Full fine-tuning trains every weight the model uses: the checkpoint's, less any head it replaces, plus the head.
    const headNames = new Set(model.head.tensors)
    const fullCount = source.tensors.filter((t) => !headNames.has(t.name)).reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0) + headCount
    const adapterCount = method.kind === 'full' ? model.baseVariables.reduce((sum, v) => sum + v.size, 0) : adapters.reduce((sum, a) => sum + a.trainableParameters, 0)
    const comparisonTargets = targets.length > 0 ? targets : selectTargets(allTargets, family.defaultTargets)
    const microBatchesPerEpoch = Math.ceil(data.train.size / config.batchSize)
    const stepsPerEpoch = Math.max(1, Math.floor(microBatchesPerEpoch / config.gradientAccumulation))
    const totalSteps = Math.min(config.maxSteps ?? Infinity, stepsPerEpoch * config.epochs)
    const warnings = edgeGapWarnings(adapters)
    const summaries: TargetSummary[] = adapters.map((a) => ({
      name: a.target.name,
      shape: [a.target.outFeatures, a.target.inFeatures],
      trainable: a.trainableParameters,
      ...(a.spectrum && { band: a.spectrum.band })
    }))
    yield await log.append({
      type: 'prepared',
      parameters: { adapter: adapterCount, head: headCount, total: adapterCount + headCount, lora8: countTrainable('lora', comparisonTargets, { rank: comparisonLoraRank }), full: fullCount },
      targets: summaries,
      data: { train: data.train.size, validation: data.validation.size, ...(data.labels && { labels: data.labels }) },
      totalSteps,
      spectraBefore: adapters.filter((a) => a.spectrum).map((a) => ({ name: a.target.name, before: Array.from(a.spectrum!.before), band: a.spectrum!.band })),
      ...(warnings.length > 0 && { warnings }),
      memory
    })

    // ---- resume
    let state: CheckpointState = { step: 0, epoch: 0, cursor: 0, seconds: 0 }
    if (checkpoint) {
      if (checkpoint.tensors.variables.length !== session.variables.length) throw new Error(`${runDir}: its checkpoint holds ${checkpoint.tensors.variables.length} tensors but the model now has ${session.variables.length}; was the checkpoint folder changed?`)
      session.variables.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(checkpoint.tensors.variables[i]!.values, v.shape))))
      optimizer.load({ step: checkpoint.state.step, moments: checkpoint.tensors.moments })
      state = { ...checkpoint.state }
    }

    // ---- the loop
    const accumulate = config.gradientAccumulation
    let lastEval = -1
    // Speed and ETA from training time only: each step is timed from the end of what came before it
    // (the previous step, an evaluation, a checkpoint, a pause), so none of that counts as a slow step.
    const pace = new StepPace()
    let stepClock = performance.now()
    let savedAt = -1
    const writeState = async (): Promise<string> => {
      state.seconds = (performance.now() - started) / 1000
      // Every value at once, asynchronously: WebGPU in Node cannot read synchronously, and a GPU waits once.
      const [values, optimizerState] = await Promise.all([Promise.all(session!.variables.map((v) => v.data() as Promise<Float32Array>)), optimizer.state()])
      const tensors = {
        variables: session!.variables.map((v, i) => ({ shape: [...v.shape], values: values[i]! })),
        moments: optimizerState.moments
      }
      // Never replace a good checkpoint (or latest.json's pointer to it) with one that holds NaN or ∞.
      await checkFinite(tensors, session!.variableNames, state.step, runDir)
      const name = await writeCheckpoint(runDir, state, tensors)
      savedAt = state.step
      return name
    }
    /** Write a checkpoint, said first as a 'saving' stage (a large model's takes a while). */
    async function* saveCheckpoint(): AsyncGenerator<TrainEvent> {
      const name = yield* withStages(log, { stage: 'saving', done: 0, total: 1, detail: `at step ${state.step}` }, () => writeState())
      yield await log.append({ type: 'checkpoint', step: state.step, name })
    }
    /** Evaluate, as an 'evaluating' stage counting validation batches. */
    async function* evaluateNow(): AsyncGenerator<TrainEvent> {
      const total = Math.ceil(session!.data.validation.size / config.batchSize)
      const detail = `at step ${state.step}`
      const { metrics, best } = yield* withStages(log, { stage: 'evaluating', done: 0, total, detail }, (stage) => evaluate(session!, state, config, (done) => stage({ stage: 'evaluating', done, total, detail })))
      yield await log.append({ type: 'eval', step: state.step, epoch: state.epoch, metrics, best })
      lastEval = state.step
    }
    // The best step is saved when it is measured, so it can be exported however long the run goes on.
    const isNewBest = (): boolean => state.best?.step === state.step && savedAt !== state.step

    if (state.step < totalSteps) yield await log.append({ type: 'stage', stage: 'training', done: state.step, total: totalSteps })
    training: while (state.step < totalSteps && state.epoch < config.epochs) {
      const order = epochOrder(data.train.size, config.seed, state.epoch)
      const remaining = order.subarray(state.cursor * config.batchSize)
      let accumulated: tf.Tensor[] | undefined
      // The micro-batches' losses stay on the device until the optimiser step reads them with the gradients' norm.
      let losses: tf.Scalar[] = []
      for await (const batch of data.train.batches(remaining, config.batchSize, host.signal)) {
        // Dropout masks from (seed, epoch, micro-batch of the epoch): a resumed run draws the same ones.
        const dropoutSeed = config.dropout === false ? undefined : (Math.imul(config.seed + 1, 0x9e3779b1) ^ Math.imul(state.epoch + 1, 0x85ebca6b) ^ Math.imul(state.cursor + 1, 0xc2b2ae35)) >>> 0
        const { loss, grads } = stepGradients(session, batch, dropoutSeed)
        losses.push(loss)
        if (!accumulated) accumulated = grads
        else {
          const sum = accumulated.map((g, i) => tf.add(g, grads[i]!))
          tf.dispose([...accumulated, ...grads])
          accumulated = sum
        }
        state.cursor++
        // Checkpoints fall on optimiser steps, so the cursor counts micro-batches of this step too.
        if (state.cursor % accumulate !== 0) continue

        const scaled = accumulated!.map((g) => tf.div(g, accumulate))
        tf.dispose(accumulated!)
        accumulated = undefined
        // One read per optimiser step, the losses and the norm together, so a GPU step waits once.
        const norm = globalNorm(scaled)
        const numbers = await readScalars([...losses, norm])
        tf.dispose([...losses, norm])
        losses = []
        const lossSum = numbers.subarray(0, -1).reduce((sum, value) => sum + value / accumulate, 0)
        const gradNorm = numbers.at(-1)!
        if (!Number.isFinite(lossSum)) {
          tf.dispose(scaled)
          throw await diverged(runDir, state.step + 1, `the loss is ${lossSum}`, config)
        }
        if (!Number.isFinite(gradNorm)) {
          tf.dispose(scaled)
          throw await diverged(runDir, state.step + 1, `the gradient's norm is ${gradNorm} (a gradient is NaN or ∞, or beyond float32's range)`, config)
        }
        const clipped = clipToNorm(scaled, gradNorm, config.maxGradNorm)
        const factor = learningRateFactor(state.step, { kind: config.schedule, warmupSteps: Math.round(config.warmupRatio * totalSteps), totalSteps })
        optimizer.apply(clipped, factor)
        tf.dispose(clipped === scaled ? scaled : [...scaled, ...clipped])
        state.step++
        pace.add((performance.now() - stepClock) / 1000)
        const stepsPerSecond = 1 / Math.max(1e-9, pace.seconds())
        yield await log.append({
          type: 'step',
          step: state.step,
          epoch: state.epoch,
          loss: lossSum,
          lr: config.lr * factor,
          gradNorm,
          stepsPerSecond,
          samplesPerSecond: stepsPerSecond * config.batchSize * accumulate,
          etaSeconds: (totalSteps - state.step) * pace.seconds()
        })

        if (config.spectraEvery > 0 && state.step % config.spectraEvery === 0 && adapters.some((a) => a.spectrum)) yield await log.append({ type: 'spectra', step: state.step, layers: await spectraNow(adapters) })
        if (config.evalEvery > 0 && state.step % config.evalEvery === 0) yield* evaluateNow()
        const atEnd = state.step >= totalSteps
        if (!atEnd && ((config.checkpointEvery > 0 && state.step % config.checkpointEvery === 0) || isNewBest())) yield* saveCheckpoint()
        if (host.control?.paused) {
          yield await log.append({ type: 'paused', step: state.step })
          await host.control.whilePaused()
          if (!host.control.cancelled) yield await log.append({ type: 'resumed', step: state.step })
        }
        if (host.control?.cancelled) {
          yield* saveCheckpoint()
          yield await log.append({ type: 'cancelled', step: state.step })
          return
        }
        if (atEnd) break training
        stepClock = performance.now()
      }
      if (accumulated) tf.dispose(accumulated)
      tf.dispose(losses)
      if (state.step >= totalSteps) break
      state.epoch++
      state.cursor = 0
      if (config.evalEvery === 0 && state.epoch < config.epochs) {
        yield* evaluateNow()
        // At the epoch's end (epoch and cursor already moved on): a resume from here starts the next epoch.
        if (isNewBest()) yield* saveCheckpoint()
      }
      stepClock = performance.now()
    }

    // Trained: what is left is measuring and writing the result.
    yield await log.append({ type: 'stage', stage: 'finishing', done: 0, total: 0, detail: 'the final evaluation, spectra and checkpoint' })
    if (lastEval !== state.step) yield* evaluateNow()
    if (adapters.some((a) => a.spectrum)) yield await log.append({ type: 'spectra', step: state.step, layers: await spectraNow(adapters) })
    yield* saveCheckpoint()
    yield await log.append({
      type: 'finished',
      step: state.step,
      seconds: (performance.now() - started) / 1000,
      ...(state.best && { best: { step: state.best.step, metrics: state.best.metrics } })
    })
  } catch (error) {
    yield await log.append({ type: 'error', message: error instanceof Error ? error.message : String(error), ...(error instanceof TrainingDivergedError && { step: error.step }) })
    throw error
  } finally {
    // Best effort: the error that stopped preparing is the one to report, not a failure to close after it.
    for (const release of taken.reverse()) await Promise.resolve().then(release).catch(() => undefined)
    if (session) {
      session.optimizer.dispose()
      session.adapters.forEach((a) => a.dispose())
      session.model.dispose()
      await session.data.close()
      await session.source.close()
    }
  }
}

/** Training turned NaN or ∞: the run stops, its last finite checkpoint kept. */
export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError'
  constructor(
    message: string,
    readonly step: number
  ) {
    super(message)
  }
}

async function diverged(runDir: string, step: number, what: string, config: TrainConfig): Promise<TrainingDivergedError> {
  const kept = await latestCheckpointName(runDir)
  return new TrainingDivergedError(
    `training stopped at step ${step}: ${what}; ${kept ? `the last finite checkpoint, ${kept}, is kept` : 'no checkpoint had been written yet'}. A smaller learning rate (this run's is ${config.lr}, head ${config.headLr}) or clipping (--max-grad-norm) may help; start a new run`,
    step
  )
}

/** Every value of the checkpoint about to be written is finite, or the run stops naming the first that is not. */
async function checkFinite(tensors: CheckpointTensors, names: readonly string[], step: number, runDir: string): Promise<void> {
  const parts = tensors.variables.flatMap((v, i) => [
    { values: v.values, what: names[i] ?? `variable ${i}` },
    { values: tensors.moments[i]?.m, what: `the optimiser's first moment of ${names[i] ?? `variable ${i}`}` },
    { values: tensors.moments[i]?.v, what: `the optimiser's second moment of ${names[i] ?? `variable ${i}`}` }
  ])
  for (const { values, what } of parts) {
    if (!values) continue
    for (let j = 0; j < values.length; j++) {
      if (Number.isFinite(values[j]!)) continue
      const kept = await latestCheckpointName(runDir)
      throw new TrainingDivergedError(`training stopped at step ${step}: ${what} holds ${values[j]} (at index ${j}); the checkpoint was not written${kept ? `, and the last finite one, ${kept}, is kept` : ''}. A smaller learning rate may help; start a new run`, step)
    }
  }
}

type StageReport = { stage: TrainStage; done: number; total: number; detail?: string; etaSeconds?: number }

/** How often a stage's progress is logged at most while its work runs (every event is kept in events.jsonl). */
const stageInterval = 250

/**
 * Run slow work (data checks, SVDs, an evaluation, a checkpoint) while passing its progress on as 'stage'
 * events: `first` before the work starts, so what the run is doing shows at once, then the newest report
 * at most every 250 ms. A report still unsent when the work ends is dropped: the event after it says the
 * work is done. Returns what the work returns.
 */
async function* withStages<T>(log: EventLog, first: StageReport | undefined, work: (stage: (report: StageReport) => void) => Promise<T>): AsyncGenerator<TrainEvent, T> {
  if (first) yield await log.append({ type: 'stage', ...first })
  let latest: StageReport | undefined
  let settled = false
  const running = work((report) => (latest = report)).finally(() => (settled = true))
  while (!settled) {
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([running.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, stageInterval)))])
    clearTimeout(timer)
    if (latest && !settled) {
      const report = latest
      latest = undefined
      yield await log.append({ type: 'stage', ...report })
    }
  }
  return running
}

/**
 * Seconds per optimiser step over the recent steps, each timed on its own (so a pause, an evaluation or
 * a checkpoint between two steps adds nothing). A session's first step also compiles and warms up: it
 * counts only until there are others.
 */
export class StepPace {
  private readonly recent: number[] = []
  private first: number | undefined

  constructor(private readonly window = 20) {}

  add(seconds: number): void {
    if (this.first === undefined) this.first = seconds
    else {
      this.recent.push(seconds)
      if (this.recent.length > this.window) this.recent.shift()
    }
  }

  /** Mean seconds per step (NaN before any step). */
  seconds(): number {
    if (this.recent.length === 0) return this.first ?? NaN
    return this.recent.reduce((a, b) => a + b, 0) / this.recent.length
  }
}

/**
 * Loss and gradients of one micro-batch, as tensors the caller owns (gradients ordered like
 * session.variables). Nothing is read here: the loss stays on the device until the step reads it.
 */
function stepGradients(session: Session, batch: TrainBatch, dropoutSeed: number | undefined): { loss: tf.Scalar; grads: tf.Tensor[] } {
  return tf.tidy(() => {
    const labels = batchLabels(batch)
    const inputs = dropoutSeed === undefined ? batch.inputs : { ...batch.inputs, dropoutSeed }
    const { value, grads } = tf.variableGrads(() => lossOf(session.task, session.model, inputs, labels), session.variables)
    const ordered = session.variables.map((v) => {
      const g = grads[v.name]
      if (!g) throw new Error(`no gradient reached ${v.name}`)
      return tf.keep(g)
    })
    return { loss: tf.keep(value), grads: ordered }
  })
}

/**
 * Scalars as numbers, in one asynchronous read: WebGPU in Node has no synchronous read path, and on a GPU
 * every read waits for the queue, so the numbers a step needs are fetched together.
 */
async function readScalars(scalars: readonly tf.Tensor[]): Promise<Float32Array> {
  const joined = tf.tidy(() => tf.concat(scalars.map((s) => tf.reshape(s, [1]))))
  try {
    return (await joined.data()) as Float32Array
  } finally {
    joined.dispose()
  }
}

function batchLabels(batch: TrainBatch): tf.Tensor {
  return batch.labels instanceof Float32Array ? tf.tensor(batch.labels, batch.labelShape, 'float32') : tf.tensor(batch.labels, batch.labelShape, 'int32')
}

async function spectraNow(adapters: Adapter[]): Promise<LayerSpectrumNow[]> {
  return Promise.all(
    adapters
      .filter((a) => a.spectrum)
      .map(async (a) => {
        const now = await a.spectrum!.now()
        return { name: a.target.name, now: Array.from(now), band: a.spectrum!.band, erankBefore: effectiveRank(a.spectrum!.before), erank: effectiveRank(now) }
      })
  )
}

/** The task's metrics on the validation side; tracks the best step (accuracy, Pearson, or lowest loss for LM). */
async function evaluate(session: Session, state: CheckpointState, config: TrainConfig, onBatch?: (done: number) => void): Promise<{ metrics: Record<string, number>; best: boolean }> {
  const metrics = await validationMetrics(session, session.data.validation, config.batchSize, onBatch)
  const { key, higherIsBetter } = keyMetric(config.task)
  const metric = metrics[key]!
  const better = Number.isFinite(metric) && (state.best === undefined || (higherIsBetter ? metric > state.best.metric : metric < state.best.metric))
  if (better) state.best = { step: state.step, metric, metrics }
  return { metrics, best: better }
}

async function validationMetrics(session: Session, source: BatchSource, batchSize: number, onBatch?: (done: number) => void): Promise<Record<string, number>> {
  const order = Uint32Array.from({ length: source.size }, (_, i) => i)
  const predicted: number[] = []
  const actual: number[] = []
  let lossSum = 0
  let weight = 0
  let batches = 0
  const classifies = session.task === 'classification' || session.task === 'image-classification'
  for await (const batch of source.batches(order, batchSize)) {
    // Computed in a tidy, read after it (an asynchronous read cannot sit inside one), loss and predictions together.
    const [loss, predictions] = tf.tidy(() => {
      // A causal LM needs only the loss, which its model computes without the full logits.
      if (session.task === 'causal-lm') return [lossOf(session.task, session.model, batch.inputs, batchLabels(batch))]
      const logits = session.model.forward(batch.inputs)
      const loss = taskLoss(session.task, logits, batchLabels(batch))
      if (classifies) return [loss, tf.argMax(logits, 1)]
      return session.task === 'regression' ? [loss, tf.reshape(logits, [-1])] : [loss]
    })
    let values: (Float32Array | Int32Array)[]
    try {
      values = (await Promise.all([loss!.data(), ...(predictions ? [predictions.data()] : [])])) as (Float32Array | Int32Array)[]
    } finally {
      tf.dispose([loss!, ...(predictions ? [predictions] : [])])
    }
    // Causal LM: weight by predicted tokens, so the mean is per token as perplexity needs.
    const count = session.task === 'causal-lm' ? countTargets(batch) : batch.inputs.batchSize
    lossSum += values[0]![0]! * count
    weight += count
    if (predictions) {
      predicted.push(...values[1]!)
      actual.push(...batch.labels)
    }
    onBatch?.(++batches)
  }
  const loss = weight > 0 ? lossSum / weight : NaN
  if (session.task === 'causal-lm') return { loss, perplexity: perplexity(loss) }
  if (session.task === 'regression') return { loss, pearson: pearson(predicted, actual), spearman: spearman(predicted, actual) }
  const classes = session.data.numLabels ?? 2
  return { loss, accuracy: accuracy(predicted, actual), f1: f1(predicted, actual, classes), matthews: matthews(predicted, actual, classes) }
}

/** Next-token targets in a causal-LM batch (labels other than -100, after the first position). */
function countTargets(batch: TrainBatch): number {
  const [rows, length] = batch.labelShape as [number, number]
  let count = 0
  for (let r = 0; r < rows; r++) for (let t = 1; t < length; t++) if (batch.labels[r * length + t] !== -100) count++
  return count
}

/** The run's memory estimate (memoryEstimate.ts) from its plan: the targets' bands and what trains besides them. */
function memoryOf(config: TrainConfig, plan: ReturnType<typeof planRun>, source: TensorSource, data: TrainData, backend: string): ReturnType<typeof estimateMemory> {
  const c = source.config
  const { spectral, kind } = methodInfo(config.method)
  const amount = { ...(config.perc !== undefined && { perc: config.perc }), ...(config.k !== undefined && { k: config.k }), ...(config.rank !== undefined && { rank: config.rank }), overrides: plan.overrides }
  const values = source.tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0)
  const trainable = kind === 'full' ? values : spectral ? 0 : countTrainable(config.method, plan.targets, amount)
  const length = c?.imageSize && c.patchSize ? (c.imageSize / c.patchSize) ** 2 + 1 : (data.maxLength ?? config.maxLength ?? 512)
  return estimateMemory({
    config: c,
    tensors: source.tensors,
    targets: kind === 'adapter' ? plan.targets : [],
    bandOf: (target) => (spectral ? countTrainable(config.method, [target], amount) : 0),
    trainable,
    batchSize: config.batchSize,
    length,
    causalLm: config.task === 'causal-lm',
    svdWorkers: 2,
    backend
  })
}

/**
 * The SVD stage's time left after `done` of the targets, in order: the seconds so far scaled by the flops
 * left over the flops done (an SVD of m × n costs about m·n·min(m, n)). Matrices read from the cache take
 * no time and make the first estimates low; it settles as real decompositions finish. Undefined until one
 * has taken measurable time.
 */
export function svdTimeLeft(targets: readonly AdaptableLinear[], now: () => number = () => performance.now()): (done: number) => number | undefined {
  const start = now()
  const cost = targets.map((t) => t.outFeatures * t.inFeatures * Math.min(t.outFeatures, t.inFeatures))
  const all = cost.reduce((a, b) => a + b, 0)
  return (done) => {
    const seconds = (now() - start) / 1000
    const spent = cost.slice(0, done).reduce((a, b) => a + b, 0)
    if (done <= 0 || spent <= 0 || seconds < 0.05) return undefined
    return (seconds * (all - spent)) / spent
  }
}
