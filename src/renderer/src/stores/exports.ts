import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { ExportKind, ExportSummary, RunSummary } from '@shared/api'
import { useApi } from '../api'
import { messageOf } from '../lib/errors'
import { joinPath } from '../lib/paths'
import { useAppStore } from './app'

export const exportKinds: readonly ExportKind[] = ['merged', 'adapter', 'peft-lora', 'report']

export const exportLabels: Record<ExportKind, string> = {
  merged: 'Merged checkpoint',
  adapter: 'SiVA adapter',
  'peft-lora': 'PEFT LoRA adapter',
  report: 'Run report'
}

export type CheckpointChoice = 'best' | 'last'

/** The Export step: which forms to write for a run, where, and what was written. */
export const useExportsStore = defineStore('exports', () => {
  const runId = ref<string>()
  /** The run's folder, when known (its summary says); else runsDir/<run>. */
  const runDir = ref<string>()
  const chosen = ref<Record<ExportKind, boolean>>({ merged: true, adapter: true, 'peft-lora': false, report: true })
  /** Folders the user typed; the defaults fill the rest. */
  const folders = ref<Partial<Record<ExportKind, string>>>({})
  const compact = ref(false)
  const force = ref(false)
  /** 'auto': the best by the run's metric, or the last when the run was never evaluated. */
  const checkpoint = ref<CheckpointChoice | 'auto'>('auto')
  const result = shallowRef<ExportSummary>()
  const exporting = ref(false)
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

  const anyChosen = computed(() => exportKinds.some((k) => chosen.value[k]))

  /** The run to export; a different run starts from the defaults again. */
  function select(id: string | undefined, run?: Pick<RunSummary, 'dir'>): void {
    if (id !== runId.value) {
      folders.value = {}
      result.value = undefined
      error.value = undefined
    }
    runId.value = id
    runDir.value = run?.dir
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
      const folder = folderFor(kind)
      if (!folder) {
        error.value = `Enter a destination folder for the ${exportLabels[kind].toLowerCase()}.`
        return false
      }
      outputs[kind] = folder
    }
    if (Object.keys(outputs).length === 0) {
      error.value = 'Choose at least one thing to export.'
      return false
    }
    exporting.value = true
    error.value = undefined
    result.value = undefined
    try {
      result.value = await useApi().call('exportRun', {
        runId: runId.value,
        ...(checkpoint.value !== 'auto' && { checkpoint: checkpoint.value }),
        outputs,
        ...(chosen.value.adapter && compact.value && { compact: true }),
        ...(force.value && { force: true })
      })
      return true
    } catch (e) {
      error.value = messageOf(e)
      return false
    } finally {
      exporting.value = false
    }
  }

  return { runId, runDir, chosen, folders, compact, force, checkpoint, result, exporting, error, defaultFolders, anyChosen, folderFor, select, setFolder, start }
})
