import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { ExportKind, ExportSummary, RunSummary } from '@shared/api'
import { exportControlLabels, exportKindOrder, type ExportOptionsSummary, type ExportProgressSummary } from '@shared/exportOptions'
import { useApi } from '../api'
import { messageOf } from '../lib/errors'
import { joinPath } from '../lib/paths'
import { useAppStore } from './app'

export const exportKinds: readonly ExportKind[] = exportKindOrder

export const exportLabels: Record<ExportKind, string> = exportControlLabels

/** 'auto': the best by the run's metric, or the last when the run was never evaluated; a number: that step. */
export type CheckpointChoice = 'auto' | 'best' | 'last' | number

/** How often a running export's progress is asked for. */
const progressEveryMs = 500

/** What a run starts with ticked; outputs it cannot take are unticked when the back end says so. */
const defaultChoice = (): Record<ExportKind, boolean> => ({ merged: true, adapter: true, 'peft-lora': false, report: true })

/** The Export step: which forms to write for a run, where, and what was written. */
export const useExportsStore = defineStore('exports', () => {
  const runId = ref<string>()
  /** The run's folder, when known (its summary says); else runsDir/<run>. */
  const runDir = ref<string>()
  const chosen = ref<Record<ExportKind, boolean>>(defaultChoice())
  /** Folders the user typed; the defaults fill the rest. */
  const folders = ref<Partial<Record<ExportKind, string>>>({})
  const compact = ref(false)
  /** PEFT LoRA with one rank for every module (vLLM, llama.cpp). */
  const uniformRank = ref(false)
  const force = ref(false)
  const checkpoint = ref<CheckpointChoice>('auto')
  const result = shallowRef<ExportSummary>()
  /** What the run offers (the back end's exportOptions); undefined until known, or when it could not be asked. */
  const options = shallowRef<ExportOptionsSummary>()
  const exporting = ref(false)
  /** The running export's stage, as the back end last said it. */
  const progress = shallowRef<ExportProgressSummary>()
  /** When the running export started (ms since the epoch, this machine's clock). */
  const startedAt = ref<number>()
  const error = ref<string>()

  const defaultFolders = computed<Partial<Record<ExportKind, string>>>(() => {
    if (!runId.value) return {}
    const runsDir = useAppStore().info?.runsDir
    const base = runDir.value ?? (runsDir ? joinPath(runsDir, runId.value) : undefined)
    if (!base) return {}
    return Object.fromEntries(exportKinds.map((kind) => [kind, joinPath(base, 'exports', kind)]))
  })

  function folderFor(kind: ExportKind): string {
    return folders.value[kind]?.trim() || defaultFolders.value[kind] || ''
  }

  /** Why `kind` cannot be written for this run (the back end's reason), or undefined when it can or is not known yet. */
  function unavailable(kind: ExportKind): string | undefined {
    const availability = options.value?.outputs[kind]
    return availability && !availability.available ? (availability.reason ?? 'not available for this run') : undefined
  }

  const anyChosen = computed(() => exportKinds.some((k) => chosen.value[k] && unavailable(k) === undefined))

  /** The run to export; a different run starts from the defaults again. */
  function select(id: string | undefined, run?: Pick<RunSummary, 'dir'>): void {
    if (id !== runId.value) {
      folders.value = {}
      chosen.value = defaultChoice()
      result.value = undefined
      error.value = undefined
      options.value = undefined
      checkpoint.value = 'auto'
      if (id) void loadOptions(id)
    }
    runId.value = id
    runDir.value = run?.dir
  }

  /**
   * Ask what the run can be exported to. Outputs it cannot take are unticked (their checkbox shows why); a
   * back end that cannot say leaves the form as it was, and the export itself then refuses what it must.
   */
  async function loadOptions(id: string): Promise<void> {
    let answer: ExportOptionsSummary
    try {
      answer = await useApi().call('exportOptions', { runId: id })
    } catch {
      return
    }
    if (runId.value !== id) return
    options.value = answer
    const next = { ...chosen.value }
    for (const kind of exportKinds) if (!answer.outputs[kind]?.available) next[kind] = false
    chosen.value = next
    // The engine's default, said as what it is for this run: the best, or the last when it was never evaluated.
    const gone = (checkpoint.value === 'best' && !answer.best) || (typeof checkpoint.value === 'number' && !answer.checkpoints.some((c) => c.step === checkpoint.value))
    if (checkpoint.value === 'auto' || gone) {
      checkpoint.value = answer.best ? 'best' : answer.last ? 'last' : 'auto'
    }
  }

  function setFolder(kind: ExportKind, value: string): void {
    folders.value = { ...folders.value, [kind]: value }
  }

  async function start(): Promise<boolean> {
    if (!runId.value) {
      error.value = 'Choose a run to export.'
      return false
    }
    const outputs: Partial<Record<ExportKind, string>> = {}
    for (const kind of exportKinds) {
      if (!chosen.value[kind]) continue
      const why = unavailable(kind)
      if (why) {
        error.value = `${exportLabels[kind]}: ${why}.`
        return false
      }
      const folder = folderFor(kind)
      if (!folder) {
        error.value = `Choose a folder for the ${exportLabels[kind]}.`
        return false
      }
      outputs[kind] = folder
    }
    if (Object.keys(outputs).length === 0) {
      error.value = `Tick at least one of ${exportKinds.map((k) => exportLabels[k]).join(', ')}.`
      return false
    }
    const id = runId.value
    exporting.value = true
    error.value = undefined
    result.value = undefined
    progress.value = undefined
    startedAt.value = Date.now()
    const timer = setInterval(() => void pollProgress(id), progressEveryMs)
    try {
      result.value = await useApi().call('exportRun', {
        runId: id,
        ...(checkpoint.value !== 'auto' && { checkpoint: checkpoint.value }),
        outputs,
        ...(chosen.value.adapter && compact.value && { compact: true }),
        ...(chosen.value['peft-lora'] && uniformRank.value && { uniformRank: true }),
        ...(force.value && { force: true })
      })
      return true
    } catch (e) {
      error.value = messageOf(e)
      return false
    } finally {
      clearInterval(timer)
      exporting.value = false
      progress.value = undefined
      startedAt.value = undefined
    }
  }

  let polling = false
  async function pollProgress(id: string): Promise<void> {
    if (polling) return
    polling = true
    try {
      const answer = await useApi().call('exportProgress', { runId: id })
      if (exporting.value && runId.value === id) progress.value = answer
    } catch {
      // An older back end without exportProgress: the elapsed time still shows.
    } finally {
      polling = false
    }
  }

  return { runId, runDir, chosen, folders, compact, uniformRank, force, checkpoint, result, options, exporting, progress, startedAt, error, defaultFolders, anyChosen, folderFor, unavailable, select, loadOptions, setFolder, start }
})
