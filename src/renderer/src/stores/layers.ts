import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { InspectReport, LayerSpectrum, ModelSummary, TargetRow } from '@shared/api'
import { amountError as refusal, bandSize, defaultRank, maxRequestRank, methodInfo, trainedBand } from '@shared/methods'
import type { TrainMethod } from '@shared/training'
import { frameScheduler } from '../lib/frame'
import { erankIn, heatmapCells, type ErankView } from '../lib/heatmap'
import { LatestStream } from '../lib/latestStream'
import { effectiveAmount, estimateParameters, taskHeadEstimate, trainableFor, type Amount, type HeadEstimate } from '../lib/parameterCount'
import { spectraByTarget } from '../lib/targetSpectra'
import { compilePattern, matchingTargets, presetPattern, selectedBlocksText, targetsSetting, type SelectionPreset } from '../lib/targetSelection'
import type { MethodSettings } from '../lib/trainConfig'
import { useDataStore } from './data'

/** One row of the Layers table: a target, its spectrum once analysed, and what training it would cost. */
export interface LayerRow {
  name: string
  block: number
  role: TargetRow['role']
  shape: [number, number]
  spectrum?: LayerSpectrum
  selected: boolean
  /** Trainable parameters this target adds under the current method (were it selected); absent while its amount is refused. */
  trainable?: number
  /** Its own amount, when it overrides the global one. */
  override?: Amount
  /** The trained band [start, end) of its descending singular values, for spectral methods. */
  band?: [number, number]
  /** The k or LoRA rank it asks for (override, else global), before clamping to r; absent for methods without one. */
  requested?: number
  /** What it gets without an override: the global k, perc's k on this matrix, or the global rank. */
  inherited?: number
  /** Why the engine would refuse its own override (then `trainable` is absent). */
  amountError?: string
}

/** Selected matrices whose k is more than their r: they train all r values. */
export interface ClampedGroup {
  /** The k asked for. */
  k: number
  r: number
  count: number
}

export type AmountMode = 'perc' | 'k'

/** The trained band a method gives a matrix with r singular values (the method catalogue's). */
export { trainedBand }

/**
 * The Layers step: the model's adaptable matrices, their spectra as they stream in, which of them to
 * train and how much. Selection is by pattern (PEFT's target_modules as a regex), narrowed to a block
 * range, then row by row; a new pattern or range starts the selection afresh.
 */
export const useLayersStore = defineStore('layers', () => {
  const modelPath = ref<string>()
  const targets = shallowRef<readonly TargetRow[]>([])
  const modelParameters = ref(0)
  const defaultTargets = ref<string>()
  const modelType = ref<string>()
  const hiddenSize = ref<number>()

  // ---- spectra
  const spectra = shallowRef<ReadonlyMap<string, LayerSpectrum>>(new Map())
  const report = shallowRef<InspectReport>()
  const progress = ref<{ done: number; total: number }>()
  const analysing = ref(false)
  const analysisError = ref<string>()
  /** Matrices that could not be analysed (NaN/Inf), name → message. */
  const layerErrors = ref<Record<string, string>>({})
  let pending = new Map<string, LayerSpectrum>()
  const analysis = new LatestStream('analyseLayers')
  const flusher = frameScheduler(() => {
    if (pending.size === 0) return
    const next = new Map(spectra.value)
    for (const [name, s] of pending) next.set(name, s)
    pending = new Map()
    spectra.value = next
  })

  // ---- selection and method
  const pattern = ref('')
  const blockFrom = ref(0)
  const blockTo = ref(0)
  const selected = shallowRef<ReadonlySet<string>>(new Set())
  const method = ref<TrainMethod>('siva')
  const amountMode = ref<AmountMode>('perc')
  const perc = ref(0.1)
  const k = ref(4)
  const rank = ref(8)
  const overrides = ref<Record<string, Amount>>({})
  const focused = ref<string>()
  /** erank as it is, or over r = min(out, in) to compare matrices of different widths (heatmap and table). */
  const erankView = ref<ErankView>('erank')

  const blockCount = computed(() => (targets.value.length === 0 ? 0 : Math.max(...targets.value.map((t) => t.block)) + 1))
  const compiled = computed(() => compilePattern(pattern.value))
  const patternError = computed(() => compiled.value.error)
  const amount = computed<Amount>(() => {
    if (method.value === 'lora') return { rank: rank.value }
    return amountMode.value === 'k' ? { k: k.value } : { perc: perc.value }
  })
  const byTarget = computed(() => spectraByTarget(targets.value, spectra.value.values()))

  /** The k (from k or perc) or rank an amount asks of a matrix with r values, before clamping; undefined if refused. */
  function askedOf(a: Amount, r: number): number | undefined {
    const kind = methodInfo(method.value).amount
    if (kind === 'rank') return a.rank ?? defaultRank
    if (kind !== 'k' || refusal(method.value, a)) return undefined
    return a.k ?? bandSize(r, a)
  }
  /** The catalogue's refusal, or the request's limit on LoRA's rank. */
  function problemOf(a: Amount): string | undefined {
    const problem = refusal(method.value, a)
    if (problem) return problem
    const asked = a.rank ?? defaultRank
    return method.value === 'lora' && asked > maxRequestRank ? `LoRA rank must be at most ${maxRequestRank}, got ${asked}` : undefined
  }

  const rows = computed<LayerRow[]>(() =>
    targets.value.map((t) => {
      const override = overrides.value[t.name]
      const effective = effectiveAmount(amount.value, override)
      const problem = problemOf(effective)
      const trainable = problem ? undefined : trainableFor(method.value, t.shape, effective)
      const r = Math.min(t.shape[0], t.shape[1])
      const band = trainable !== undefined ? trainedBand(method.value, r, trainable) : undefined
      const spectrum = byTarget.value.get(t.name)
      const requested = problem ? undefined : askedOf(effective, r)
      const inherited = askedOf(amount.value, r)
      return {
        name: t.name,
        block: t.block,
        role: t.role,
        shape: t.shape,
        selected: selected.value.has(t.name),
        ...(trainable !== undefined && { trainable }),
        ...(spectrum && { spectrum }),
        ...(override && { override }),
        ...(band && { band }),
        ...(requested !== undefined && { requested }),
        ...(inherited !== undefined && { inherited }),
        // A refused global amount is said once, beside its field; a row says only its own override's refusal.
        ...(problem && override && { amountError: problem })
      }
    })
  )
  const selectedTargets = computed(() => targets.value.filter((t) => selected.value.has(t.name)))
  const estimate = computed(() => estimateParameters(method.value, selectedTargets.value, amount.value, overrides.value, modelParameters.value))
  const adapts = computed(() => methodInfo(method.value).kind === 'adapter')
  /**
   * The task head every method trains, from the family, the width and the Data step's task and classes;
   * undefined until those are known (the count panel then says the head is not counted).
   */
  const head = computed<HeadEstimate | undefined>(() => {
    const data = useDataStore()
    const classes = data.result?.classes?.length
    return taskHeadEstimate({ task: data.task, ...(modelType.value !== undefined && { modelType: modelType.value }), ...(hiddenSize.value !== undefined && { hiddenSize: hiddenSize.value }), ...(classes !== undefined && { classes }) })
  })
  /**
   * Why the engine would refuse the global amount (the method catalogue's rule: a fractional k is refused,
   * not rounded) or a selected row's own, or the request's limit on LoRA's rank; undefined when all is fine.
   */
  const amountError = computed(() => {
    const problem = problemOf(amount.value)
    if (problem) return problem
    if (!adapts.value) return undefined
    const row = rows.value.find((r) => r.selected && r.override && r.amountError)
    return row ? `${methodInfo(method.value).amount === 'rank' ? 'Rank' : 'k'} for ${row.name}: ${row.amountError}` : undefined
  })
  /** Selected matrices whose k is more than their r, by r: "9999 → 512 (all)". */
  const clamped = computed<ClampedGroup[]>(() => {
    if (methodInfo(method.value).amount !== 'k') return []
    const groups = new Map<string, ClampedGroup>()
    for (const row of rows.value) {
      const r = Math.min(row.shape[0], row.shape[1])
      if (!row.selected || row.requested === undefined || row.requested <= r) continue
      const key = `${row.requested}/${r}`
      const group = groups.get(key) ?? { k: row.requested, r, count: 0 }
      group.count++
      groups.set(key, group)
    }
    return [...groups.values()].sort((a, b) => b.k - a.k || b.r - a.r)
  })
  /** Which blocks the selection really covers: "in block 1", whatever the block range says. */
  const selectedBlocks = computed(() => selectedBlocksText(targets.value, selected.value))
  /** What the Train step sends for the method and targets. */
  const settings = computed<MethodSettings>(() => {
    const target = adapts.value ? targetsSetting(targets.value, selected.value, pattern.value) : undefined
    return { method: method.value, amount: amount.value, overrides: overrides.value, ...(target && { targets: target }) }
  })
  const canTrain = computed(() => !adapts.value || selected.value.size > 0)
  const focusedRow = computed(() => rows.value.find((r) => r.name === focused.value) ?? rows.value[0])
  const heatmap = computed(() =>
    heatmapCells(
      rows.value.map((r) => ({ name: r.name, block: r.block, role: r.role, selected: r.selected, ...(r.spectrum && !r.spectrum.error && { value: erankIn(erankView.value, r.spectrum.effectiveRank, r.shape) }) })),
      erankView.value === 'normalised' ? 'erank / r' : 'erank'
    )
  )

  // ---- actions
  function select(names: ReadonlySet<string>): void {
    selected.value = names
  }

  function reselect(): void {
    select(matchingTargets(targets.value, compiled.value.regex, { from: blockFrom.value, to: blockTo.value }))
  }

  function setPattern(source: string): void {
    pattern.value = source
    if (!compiled.value.error) reselect()
  }

  function applyPreset(preset: SelectionPreset): void {
    setPattern(presetPattern(preset, targets.value, defaultTargets.value))
  }

  function setBlockRange(from: number, to: number): void {
    const last = Math.max(0, blockCount.value - 1)
    const clamp = (b: number): number => Math.min(last, Math.max(0, Math.round(Number.isFinite(b) ? b : 0)))
    blockFrom.value = Math.min(clamp(from), clamp(to))
    blockTo.value = Math.max(clamp(from), clamp(to))
    reselect()
  }

  function setSelected(name: string, on: boolean): void {
    const next = new Set(selected.value)
    if (on) next.add(name)
    else next.delete(name)
    select(next)
  }

  function toggle(name: string): void {
    setSelected(name, !selected.value.has(name))
  }

  function selectNone(): void {
    select(new Set())
  }

  function setOverride(name: string, value: Amount | undefined): void {
    const next = { ...overrides.value }
    if (value && Object.values(value).some((v) => v !== undefined)) next[name] = value
    else delete next[name]
    overrides.value = next
  }

  function focus(name: string): void {
    focused.value = name
  }

  function stopAnalysis(): void {
    analysis.stop()
    flusher.cancel()
    pending = new Map()
    analysing.value = false
  }

  /** Stream the spectra of a checkpoint's matrices; each one shows as soon as it is done. */
  function analyse(path = modelPath.value): void {
    if (!path) return
    stopAnalysis()
    spectra.value = new Map()
    report.value = undefined
    layerErrors.value = {}
    analysisError.value = undefined
    progress.value = undefined
    analysing.value = true
    analysis.open(
      { path, valuesOnly: true },
      (event) => {
        if (event.type === 'progress') {
          progress.value = { done: event.done, total: event.total }
          if (event.layer) {
            pending.set(event.layer.name, event.layer)
            flusher.schedule()
          }
          if (event.error) layerErrors.value = { ...layerErrors.value, [event.layer?.name ?? `matrix ${event.done}`]: event.error }
        } else {
          flusher.cancel()
          pending = new Map()
          report.value = event.report
          spectra.value = new Map(event.report.tensors.map((s) => [s.name, s]))
          layerErrors.value = Object.fromEntries(event.report.tensors.filter((s) => s.error).map((s) => [s.name, s.error!]))
        }
      },
      (error) => {
        flusher.flush()
        analysing.value = false
        if (error) analysisError.value = error
      }
    )
  }

  /** A model was opened: its targets, the family's default selection, and its spectra. */
  function load(summary: ModelSummary): void {
    stopAnalysis()
    modelPath.value = summary.path
    targets.value = summary.targets
    modelParameters.value = summary.parameters
    defaultTargets.value = summary.defaultTargets
    modelType.value = summary.modelType
    hiddenSize.value = summary.hiddenSize
    overrides.value = {}
    focused.value = undefined
    blockFrom.value = 0
    blockTo.value = Math.max(0, blockCount.value - 1)
    applyPreset('default')
    if (summary.targets.length > 0) analyse(summary.path)
    else spectra.value = new Map()
  }

  /** For tests and teardown: apply streamed spectra now rather than at the next frame. */
  function flush(): void {
    flusher.flush()
  }

  return {
    modelPath,
    targets,
    modelParameters,
    defaultTargets,
    spectra,
    report,
    progress,
    analysing,
    analysisError,
    layerErrors,
    pattern,
    blockFrom,
    blockTo,
    blockCount,
    selected,
    method,
    amountMode,
    perc,
    k,
    rank,
    overrides,
    focused,
    erankView,
    modelType,
    hiddenSize,
    head,
    clamped,
    selectedBlocks,
    patternError,
    amount,
    amountError,
    rows,
    selectedTargets,
    estimate,
    settings,
    canTrain,
    focusedRow,
    heatmap,
    setPattern,
    applyPreset,
    setBlockRange,
    setSelected,
    toggle,
    selectNone,
    setOverride,
    focus,
    analyse,
    stopAnalysis,
    load,
    flush
  }
})
