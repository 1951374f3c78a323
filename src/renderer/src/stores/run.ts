import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { RunSummary } from '@shared/api'
import { activeRunStatuses, continuableRunStatuses } from '@shared/runTimeline'
import type { TrainBackend, TrainEvent } from '@shared/training'
import { useApi } from '../api'
import { messageOf } from '../lib/errors'
import { frameScheduler } from '../lib/frame'
import { LatestStream } from '../lib/latestStream'
import { RunFolder, type LayerTrace, type Point, type RunStatus, type RunTrace } from '../lib/runTrace'
import { buildTrainConfig, defaultHyperparameters, type HyperparameterName, type Hyperparameters } from '../lib/trainConfig'
import { useDataStore } from './data'
import { useLayersStore } from './layers'
import { useModelStore } from './model'

/**
 * Why the chosen data cannot be trained on yet, from the Data step's check: not run for these choices,
 * or it found errors. The back end refuses such a run anyway (startRun runs the same check); saying so
 * here keeps Start from promising a run that cannot happen.
 */
function dataGate(data: ReturnType<typeof useDataStore>): string | undefined {
  const file = data.path.trim()
  if (data.checking) return `Start is disabled: ${file} is being checked on the Data step.`
  const result = data.result
  if (!result) return `Start is disabled: ${file} has not been checked — check it on the Data step.`
  if (!data.current) return `Start is disabled: the columns or the validation file changed since ${file} was checked — check it again on the Data step.`
  if (result.usable) return undefined
  const errors = result.problems.filter((p) => p.severity === 'error')
  const found = result.rows === 0 ? 'no rows to train on' : `${errors.length === 1 ? '1 error' : `${errors.length} errors`}`
  const first = errors[0] ? ` (first: ${errors[0].message})` : ''
  return `Start is disabled: the data check found ${found} in ${file}${first} — fix it on the Data step.`
}

/** What the Train step shows besides the curves: a snapshot of the trace's scalars. */
export type RunInfo = Omit<RunTrace, 'loss' | 'lossSmoothed' | 'lr' | 'gradNorm' | 'metrics' | 'layers' | 'lastIndex'>

/**
 * The run on the Train step: starting it from the wizard's choices, its controls, and its events folded
 * into chart series. Events can come hundreds a second; the series Vue sees are replaced at most once
 * per animation frame, as shallow refs (ECharts gets new arrays, nothing deep-reactive).
 */
export const useRunStore = defineStore('run', () => {
  const runId = ref<string>()
  const summary = shallowRef<RunSummary>()
  const starting = ref(false)
  const controlling = ref(false)
  const error = ref<string>()
  const connected = ref(false)
  const hyperOverrides = ref<Partial<Hyperparameters>>({})
  /** Where the next run trains: 'auto' lets the engine pick (never a software WebGPU adapter); a name forces it. */
  const backend = ref<TrainBackend>('auto')

  // Chart data: replaced whole on each flush.
  const loss = shallowRef<Point[]>([])
  const lossSmoothed = shallowRef<Point[]>([])
  const lr = shallowRef<Point[]>([])
  const gradNorm = shallowRef<Point[]>([])
  const metrics = shallowRef<Record<string, Point[]>>({})
  const layers = shallowRef<ReadonlyMap<string, LayerTrace>>(new Map())
  const info = shallowRef<RunInfo>(snapshotInfo(new RunFolder().trace))

  let folder = new RunFolder()
  const events = new LatestStream('runEvents')
  const flusher = frameScheduler(publish)

  function snapshotInfo(t: RunTrace): RunInfo {
    const { loss: _l, lossSmoothed: _s, lr: _r, gradNorm: _g, metrics: _m, layers: _y, lastIndex: _i, ...rest } = t
    return { ...rest, checkpoints: [...rest.checkpoints] }
  }

  /** Hand the folded trace to Vue: new arrays, so charts see a change. */
  function publish(): void {
    const t = folder.trace
    loss.value = t.loss.slice()
    lossSmoothed.value = t.lossSmoothed.slice()
    lr.value = t.lr.slice()
    gradNorm.value = t.gradNorm.slice()
    metrics.value = Object.fromEntries(Object.entries(t.metrics).map(([name, points]) => [name, points.slice()]))
    layers.value = new Map([...t.layers].map(([name, layer]) => [name, { ...layer, erank: layer.erank.slice() }]))
    info.value = snapshotInfo(t)
  }

  // ---- the form
  const defaults = computed(() => defaultHyperparameters(useDataStore().task, useLayersStore().method, useModelStore().summary?.headLr))
  const hyperparameters = computed<Hyperparameters>(() => ({ ...defaults.value, ...hyperOverrides.value }))

  function setHyperparameter<K extends HyperparameterName>(name: K, value: Hyperparameters[K] | undefined): void {
    const next = { ...hyperOverrides.value }
    if (value === undefined || (typeof value === 'number' && !Number.isFinite(value))) delete next[name]
    else next[name] = value
    hyperOverrides.value = next
  }

  function resetHyperparameters(): void {
    hyperOverrides.value = {}
  }

  // ---- state
  const status = computed<RunStatus | undefined>(() => (runId.value ? info.value.status : undefined))
  const active = computed(() => status.value !== undefined && activeRunStatuses.includes(status.value))
  /** The run on screen stopped short (or was cancelled) and can train on from its latest checkpoint. */
  const canContinue = computed(() => status.value !== undefined && continuableRunStatuses.includes(status.value))
  const progress = computed(() => {
    const total = info.value.totalSteps
    return total ? Math.min(1, info.value.step / total) : 0
  })
  const layerNames = computed(() => [...layers.value.keys()])
  /** Why Start is not possible yet, in the user's words; undefined when it is. */
  const missing = computed(() => {
    const model = useModelStore()
    const data = useDataStore()
    const layersStore = useLayersStore()
    if (!model.summary) return 'Open a model first (step Model).'
    if (!model.trainable) return model.summary.notTrainable ?? 'This model has no adaptable layers.'
    if (data.path.trim() === '') return 'Choose the training data first (step Data).'
    const unchecked = dataGate(data)
    if (unchecked) return unchecked
    if (!layersStore.canTrain) return 'Select at least one layer to train (step Layers).'
    if (layersStore.amountError) return `${layersStore.amountError} (step Layers).`
    return undefined
  })

  // ---- actions
  function reset(): void {
    events.stop()
    flusher.cancel()
    folder = new RunFolder()
    connected.value = false
    publish()
  }

  function onEvent(event: TrainEvent): void {
    if (folder.fold(event)) flusher.schedule()
  }

  /** Show a run: replay its events from the start, then follow it live. */
  function attach(id: string, known?: RunSummary): void {
    reset()
    runId.value = id
    summary.value = known
    error.value = undefined
    if (known) {
      folder.trace.status = known.status
      flusher.schedule()
    }
    connected.value = true
    events.open(
      { runId: id, after: -1 },
      (message) => {
        if (message.type === 'event') onEvent(message.event)
        else {
          summary.value = message.run
          folder.tell(message.run.status)
          if (message.run.error) folder.trace.error = message.run.error
          flusher.schedule()
        }
      },
      (streamError) => {
        // Ended on its own: with no word from the back end, a log that stops short means an interrupted run.
        if (!streamError) folder.settle()
        flusher.schedule()
        flusher.flush()
        connected.value = false
        if (streamError) error.value = streamError
      }
    )
  }

  /** Start a run from the Model, Data and Layers steps and this step's hyperparameters. */
  async function start(): Promise<boolean> {
    // One run from this form at a time (a double submit would queue two).
    if (starting.value || active.value) return false
    if (missing.value) {
      error.value = missing.value
      return false
    }
    const model = useModelStore()
    const data = useDataStore()
    const config = buildTrainConfig(
      {
        model: model.summary!.path,
        data: data.path.trim(),
        task: data.task,
        ...(data.validation.trim() && { validation: data.validation.trim() }),
        columns: data.usedColumns,
        ...(data.maxLength !== undefined && { maxLength: data.maxLength }),
        backend: backend.value
      },
      useLayersStore().settings,
      hyperparameters.value
    )
    starting.value = true
    error.value = undefined
    try {
      const run = await useApi().call('startRun', { config })
      attach(run.id, run)
      return true
    } catch (e) {
      error.value = messageOf(e)
      return false
    } finally {
      starting.value = false
    }
  }

  async function control(method: 'pauseRun' | 'resumeRun' | 'cancelRun'): Promise<void> {
    if (!runId.value) return
    controlling.value = true
    error.value = undefined
    // A cancel shows at once and until the run's 'cancelled' event: the loop stops only after its current step.
    if (method === 'cancelRun') {
      folder.markCancelling()
      flusher.schedule()
      flusher.flush()
    }
    try {
      const run = await useApi().call(method, { runId: runId.value })
      summary.value = run
      // A control's answer shows at once, not at the next frame: the buttons depend on it.
      folder.tell(run.status)
      flusher.schedule()
      flusher.flush()
    } catch (e) {
      error.value = messageOf(e)
      if (method === 'cancelRun') {
        folder.markCancelling(false)
        flusher.schedule()
        flusher.flush()
      }
    } finally {
      controlling.value = false
    }
  }

  /**
   * Train an interrupted or cancelled run on from its latest checkpoint (the one on screen, or `id` from
   * the Runs list), then follow it here: its whole log replays, and the new events continue it.
   */
  async function continueRun(id = runId.value): Promise<boolean> {
    if (!id || controlling.value) return false
    controlling.value = true
    error.value = undefined
    try {
      const run = await useApi().call('continueRun', { runId: id })
      attach(run.id, run)
      return true
    } catch (e) {
      error.value = messageOf(e)
      return false
    } finally {
      controlling.value = false
    }
  }

  const pause = (): Promise<void> => control('pauseRun')
  const resume = (): Promise<void> => control('resumeRun')
  /** Cancel the run (the view asks for confirmation first); until it stops, its trace says it is cancelling. */
  const cancel = (): Promise<void> => control('cancelRun')

  /** Stop following the run (it goes on training). */
  function detach(): void {
    reset()
    runId.value = undefined
    summary.value = undefined
  }

  /**
   * After a reload (or a new window on a running server): follow the run that is still training, if
   * there is one and this view follows none. Its events replay from the start, so every chart fills in.
   */
  async function reattach(): Promise<string | undefined> {
    if (runId.value) return runId.value
    try {
      const runs = await useApi().call('listRuns', {})
      const live = runs.find((r) => r.status === 'running' || r.status === 'paused' || r.status === 'queued')
      if (live && !runId.value) attach(live.id, live)
      return live?.id
    } catch (e) {
      error.value = messageOf(e)
      return undefined
    }
  }

  /** Apply folded events now rather than at the next frame (tests, and before reading a final state). */
  function flush(): void {
    flusher.flush()
  }

  return {
    reattach,
    runId,
    summary,
    starting,
    controlling,
    error,
    connected,
    hyperOverrides,
    hyperparameters,
    backend,
    defaults,
    loss,
    lossSmoothed,
    lr,
    gradNorm,
    metrics,
    layers,
    info,
    status,
    active,
    canContinue,
    progress,
    layerNames,
    missing,
    setHyperparameter,
    resetHyperparameters,
    attach,
    start,
    pause,
    resume,
    cancel,
    continueRun,
    detach,
    flush
  }
})
