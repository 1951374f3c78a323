import { defineStore } from 'pinia'
import { nextTick, ref, shallowRef, watch } from 'vue'
import { wizardHyperparameters, wizardState, type RunSummary, type TrainConfig, type WizardState } from '@shared/api'
import { activeRunStatuses } from '@shared/runTimeline'
import { useApi } from '../api'
import { messageOf } from '../lib/errors'
import type { Amount } from '../lib/parameterCount'
import { compilePattern, matchingTargets } from '../lib/targetSelection'
import type { Hyperparameters } from '../lib/trainConfig'
import { useAppStore } from './app'
import { taskColumns, useDataStore, type ColumnName } from './data'
import { useLayersStore } from './layers'
import { useModelStore } from './model'
import { useRunStore } from './run'

/** How long the wizard waits for edits to settle before it saves them. */
export const saveDelayMs = 500

type LayersState = NonNullable<WizardState['layers']>
type HyperState = NonNullable<WizardState['hyperparameters']>

const clip = (text: string, max = 4096): string => text.slice(0, max)

/** The hyperparameter overrides the back end would keep: each one checked alone, so one bad field costs only itself. */
function keptHyperparameters(overrides: Readonly<Record<string, unknown>>): HyperState {
  const kept: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(overrides)) {
    if (value !== undefined && wizardHyperparameters.safeParse({ [name]: value }).success) kept[name] = value
  }
  return kept as HyperState
}

function finiteOr(value: number, fallback: number): number {
  return Number.isFinite(value) && value >= 0 ? value : fallback
}

/**
 * The wizard across reloads (issue 17): its choices on every step, snapshotted from the other stores and
 * kept by the back end (one state per back end, whichever tab or window saved it last), restored when the
 * page loads; the runs still training, for the banner under the navigation; a run's own configuration,
 * for the Train step to show beside it; and loading a past run's configuration back into the wizard.
 * It only reads and sets the other stores' public state and calls their actions.
 */
export const useSessionStore = defineStore('session', () => {
  const restoring = ref(false)
  /** The page's restore has finished (whether or not there was anything to restore). */
  const restored = ref(false)
  const savedAt = ref<string>()
  const saveError = ref<string>()
  /** What could not be brought back (a model folder that is gone), in the user's words. */
  const restoreError = ref<string>()
  /** The run the page picked up again when it loaded, while it is the one on screen. */
  const reattached = ref<string>()
  /** Runs queued, training or paused on this back end. */
  const liveRuns = shallowRef<RunSummary[]>([])
  const configs = shallowRef<ReadonlyMap<string, TrainConfig>>(new Map())
  const configErrors = ref<Record<string, string>>({})
  /** The run whose configuration is being loaded into the wizard. */
  const loadingRun = ref<string>()
  const loadError = ref<string>()

  let timer: ReturnType<typeof setTimeout> | undefined
  let lastSaved: string | undefined
  let saving: Promise<void> | undefined
  let stopWatching: (() => void) | undefined
  let startingOver = false

  // ---- snapshot
  function snapshot(): WizardState {
    const app = useAppStore()
    const model = useModelStore()
    const data = useDataStore()
    const layers = useLayersStore()
    const run = useRunStore()
    const modelPath = clip(model.summary?.path ?? model.path)
    const columns: Partial<Record<ColumnName, string>> = {}
    for (const [name, value] of Object.entries(data.columns) as [ColumnName, string | undefined][]) if (value) columns[name] = clip(value, 200)
    const targetNames = new Set(layers.targets.map((t) => t.name))
    const state: WizardState = {
      version: 1,
      step: app.step,
      ...(modelPath !== '' && { model: { path: modelPath, opened: model.summary !== undefined } }),
      data: {
        path: clip(data.path),
        validation: clip(data.validation),
        task: data.task,
        columns,
        ...(data.maxLength !== undefined && Number.isInteger(data.maxLength) && data.maxLength >= 2 && data.maxLength <= 8192 && { maxLength: data.maxLength }),
        checked: data.current
      },
      hyperparameters: keptHyperparameters(run.hyperOverrides),
      backend: run.backend,
      ...(run.runId && { runId: run.runId })
    }
    if (layers.targets.length > 0) {
      state.layers = {
        method: layers.method,
        amountMode: layers.amountMode,
        perc: finiteOr(layers.perc, 0.1),
        k: finiteOr(layers.k, 4),
        rank: finiteOr(layers.rank, 8),
        pattern: clip(layers.pattern),
        blockFrom: layers.blockFrom,
        blockTo: layers.blockTo,
        selected: [...layers.selected].filter((n) => targetNames.has(n) && n.length <= 512),
        overrides: Object.entries(layers.overrides)
          .filter(([name]) => targetNames.has(name) && name.length <= 512)
          .map(([name, amount]) => ({ name, amount: Object.fromEntries(Object.entries(amount).filter(([, v]) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) }))
      }
    }
    return state
  }

  // ---- saving
  async function send(text: string): Promise<void> {
    const checked = wizardState.safeParse(JSON.parse(text))
    if (!checked.success) {
      saveError.value = `The wizard could not be saved: ${checked.error.issues[0]?.path.join('.')}: ${checked.error.issues[0]?.message}`
      return
    }
    try {
      savedAt.value = (await useApi().call('saveWizardState', { state: checked.data })).savedAt
      lastSaved = text
      saveError.value = undefined
    } catch (e) {
      saveError.value = `The wizard could not be saved: ${messageOf(e)}`
    }
  }

  /** Save now what is pending (one save at a time; the latest state wins). */
  async function flushSave(): Promise<void> {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    // Starting over: the page is about to reload on the fresh state; the one on screen must not overwrite it.
    if (startingOver) return
    await saving
    const text = JSON.stringify(snapshot())
    if (text === lastSaved) return
    saving = send(text)
    await saving
    saving = undefined
  }

  function scheduleSave(): void {
    if (restoring.value) return
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(() => void flushSave(), saveDelayMs)
  }

  function startSaving(): void {
    stopWatching?.()
    stopWatching = watch(() => JSON.stringify(snapshot()), scheduleSave)
  }

  function stopSaving(): void {
    stopWatching?.()
    stopWatching = undefined
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }

  // ---- restoring
  /** The layers' choices, once the model's targets are known (layers.load has reset them to the family's default). */
  function applyLayers(saved: LayersState): void {
    const layers = useLayersStore()
    const names = new Set(layers.targets.map((t) => t.name))
    const last = Math.max(0, layers.blockCount - 1)
    layers.method = saved.method
    layers.amountMode = saved.amountMode
    layers.perc = saved.perc
    layers.k = saved.k
    layers.rank = saved.rank
    // The pattern, range and selection as they were: not re-derived, since rows may have been ticked by hand.
    layers.pattern = saved.pattern
    layers.blockFrom = Math.min(saved.blockFrom, last)
    layers.blockTo = Math.min(Math.max(saved.blockTo, saved.blockFrom), last)
    layers.selected = new Set(saved.selected.filter((n) => names.has(n)))
    const overrides: Record<string, Amount> = {}
    for (const o of saved.overrides) if (names.has(o.name) && Object.keys(o.amount).length > 0) overrides[o.name] = o.amount
    layers.overrides = overrides
  }

  async function applyData(saved: NonNullable<WizardState['data']>): Promise<void> {
    const data = useDataStore()
    data.path = saved.path
    data.validation = saved.validation
    data.task = saved.task
    data.columns = { ...saved.columns }
    data.maxLength = saved.maxLength
    // The check's result is not kept (it describes the file as it was): run it again, once the store has
    // seen the new file and task (its watcher clears any result for them).
    await nextTick()
    if (saved.checked && data.path.trim() !== '') await data.check()
  }

  async function listRuns(): Promise<RunSummary[] | undefined> {
    try {
      const runs = await useApi().call('listRuns', {})
      liveRuns.value = runs.filter((r) => activeRunStatuses.includes(r.status))
      return runs
    } catch {
      return undefined
    }
  }

  /** The run that was on screen, if it is still in the runs folder; else the one still training, as reattach finds it. */
  async function applyRun(runId: string | undefined): Promise<void> {
    const run = useRunStore()
    const runs = runId ? await listRuns() : undefined
    const found = runs?.find((r) => r.id === runId)
    if (found && run.runId !== found.id) run.attach(found.id, found)
    else if (!found) await run.reattach()
  }

  async function apply(saved: WizardState): Promise<void> {
    const app = useAppStore()
    const model = useModelStore()
    const run = useRunStore()
    app.go(saved.step)
    if (saved.model) {
      model.path = saved.model.path
      if (saved.model.opened) {
        if (await model.open(saved.model.path)) {
          if (saved.layers) applyLayers(saved.layers)
        } else restoreError.value = `The model ${saved.model.path} could not be opened again: ${model.error ?? 'unknown error'}`
      }
    }
    // Set before the data check and the run: the Train step's form and gate read them.
    run.hyperOverrides = { ...saved.hyperparameters } as Partial<Hyperparameters>
    if (saved.backend) run.backend = saved.backend
    await Promise.all([saved.data ? applyData(saved.data) : Promise.resolve(), applyRun(saved.runId)])
  }

  /**
   * After the page loads: bring the wizard back as this back end last saw it, follow the run that was on
   * screen (or the one still training), then keep saving every change. A back end without a saved state
   * (or one too old to keep it) leaves the wizard as it starts.
   */
  async function restore(): Promise<void> {
    if (restoring.value || restored.value) return
    restoring.value = true
    restoreError.value = undefined
    try {
      let saved: WizardState | undefined
      try {
        const answer = await useApi().call('wizardState', {})
        saved = answer.state
        savedAt.value = answer.savedAt
      } catch {
        saved = undefined
      }
      if (saved) await apply(saved)
      else await useRunStore().reattach()
    } catch (e) {
      restoreError.value = messageOf(e)
    } finally {
      restoring.value = false
      restored.value = true
      lastSaved = JSON.stringify(snapshot())
      startSaving()
    }
    await listRuns()
    const run = useRunStore()
    if (run.runId && liveRuns.value.some((r) => r.id === run.runId)) reattached.value = run.runId
    globalThis.addEventListener?.('pagehide', () => void flushSave())
  }

  /**
   * Forget the wizard's choices on this back end and start again from the Model step, as a new install
   * would. Runs and their folders are untouched (a run in training keeps training and shows in the
   * live-runs banner); only the saved wizard is replaced. The page reloads, so every store starts fresh.
   */
  async function startOver(): Promise<void> {
    stopSaving()
    startingOver = true
    await saving
    const fresh: WizardState = { version: 1, step: 'model' }
    await send(JSON.stringify(fresh))
    if (saveError.value) {
      startingOver = false
      startSaving()
      return
    }
    globalThis.location?.reload()
  }

  // ---- live runs
  async function refreshLive(): Promise<void> {
    await listRuns()
  }

  /** Follow a live run on the Train step. */
  function follow(summary: RunSummary): void {
    const run = useRunStore()
    if (run.runId !== summary.id) run.attach(summary.id, summary)
    useAppStore().go('train')
  }

  // ---- a run's configuration
  /** A run's own configuration (kept once read: it never changes). */
  async function runConfig(runId: string): Promise<TrainConfig | undefined> {
    const known = configs.value.get(runId)
    if (known) return known
    try {
      const { config } = await useApi().call('runConfig', { runId })
      configs.value = new Map(configs.value).set(runId, config)
      const { [runId]: _gone, ...rest } = configErrors.value
      configErrors.value = rest
      return config
    } catch (e) {
      configErrors.value = { ...configErrors.value, [runId]: messageOf(e) }
      return undefined
    }
  }

  /** The Layers step's choices from a run's config: its method and amount, its targets, its per-layer overrides. */
  function layersFromConfig(config: TrainConfig): void {
    const layers = useLayersStore()
    layers.method = config.method
    if (config.k !== undefined) {
      layers.amountMode = 'k'
      layers.k = config.k
    } else if (config.perc !== undefined) {
      layers.amountMode = 'perc'
      layers.perc = config.perc
    }
    if (config.rank !== undefined) layers.rank = config.rank
    const pattern = config.targets ?? layers.defaultTargets ?? ''
    layers.pattern = pattern
    layers.blockFrom = 0
    layers.blockTo = Math.max(0, layers.blockCount - 1)
    const selected = matchingTargets(layers.targets, compilePattern(pattern).regex)
    const overrides: Record<string, Amount> = {}
    // As the engine reads them: in order, the last matching pattern wins.
    for (const o of config.overrides ?? []) {
      const regex = compilePattern(o.pattern).regex
      for (const t of layers.targets) {
        if (!regex?.test(t.name)) continue
        if (o.skip) selected.delete(t.name)
        const amount: Amount = o.rank !== undefined ? { rank: o.rank } : o.k !== undefined ? { k: o.k } : o.perc !== undefined ? { perc: o.perc } : {}
        if (Object.keys(amount).length > 0) overrides[t.name] = amount
      }
    }
    layers.selected = selected
    layers.overrides = overrides
  }

  /**
   * Open a past run in the wizard: its model, data, layers and hyperparameters, ready to run again or to
   * change. Hyperparameters equal to the defaults stay defaults; the rest show as edited.
   */
  async function loadRunIntoWizard(runId: string): Promise<boolean> {
    loadingRun.value = runId
    loadError.value = undefined
    try {
      const config = await runConfig(runId)
      if (!config) {
        loadError.value = `The configuration of ${runId} could not be read: ${configErrors.value[runId] ?? 'unknown error'}`
        return false
      }
      const model = useModelStore()
      if (model.summary?.path !== config.model && !(await model.open(config.model))) {
        loadError.value = `The model of ${runId}, ${config.model}, could not be opened: ${model.error ?? 'unknown error'}`
        return false
      }
      layersFromConfig(config)
      const run = useRunStore()
      run.backend = config.backend
      run.resetHyperparameters()
      const defaults = run.defaults as unknown as Record<string, unknown>
      const source = config as unknown as Record<string, unknown>
      for (const name of new Set([...Object.keys(run.hyperparameters), 'maxSteps'])) {
        const value = source[name]
        if (value !== undefined && value !== defaults[name]) run.setHyperparameter(name as keyof Hyperparameters, value as never)
      }
      const columns = Object.fromEntries(taskColumns[config.task].flatMap((c) => (config.columns?.[c] ? [[c, config.columns[c]]] : [])))
      await applyData({ path: config.data, validation: config.validation ?? '', task: config.task, columns, ...(config.maxLength !== undefined && { maxLength: config.maxLength }), checked: true })
      return true
    } finally {
      loadingRun.value = undefined
    }
  }

  return {
    startOver,
    restoring,
    restored,
    savedAt,
    saveError,
    restoreError,
    reattached,
    liveRuns,
    configs,
    configErrors,
    loadingRun,
    loadError,
    snapshot,
    restore,
    flushSave,
    stopSaving,
    refreshLive,
    follow,
    runConfig,
    loadRunIntoWizard
  }
})
