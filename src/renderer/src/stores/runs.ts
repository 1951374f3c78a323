import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { RunSummary } from '@shared/api'
import { useApi } from '../api'
import { configDiff, lossCurves, metricAxisName, metricCurves, summaryRows, type ComparedRun, type ConfigDiffRow, type SummaryRow } from '../lib/compareRuns'
import { messageOf } from '../lib/errors'
import { RunFolder, type Point } from '../lib/runTrace'

/** One run being compared: loaded once its replay is out (or its stream ended), with why it failed. */
export interface ComparisonEntry extends ComparedRun {
  loaded: boolean
  error?: string
}

/**
 * The Runs tool: every run in the runs folder, newest first, and a comparison of two or more of them.
 * A comparison replays each run's events from the start and folds them as the Train step does; it is a
 * snapshot: each stream is closed once its replay is out (a run still training is not followed live).
 */
export const useRunsStore = defineStore('runs', () => {
  const runs = shallowRef<RunSummary[]>([])
  const loading = ref(false)
  const error = ref<string>()
  const deleting = ref<string>()

  // ---- comparison
  /** Ids ticked for comparison. */
  const selected = ref<string[]>([])
  const comparison = shallowRef<ComparisonEntry[]>([])
  // Chart and table data: replaced whole when a run's replay is in.
  const compareLoss = shallowRef<Record<string, Point[]>>({})
  const compareMetric = shallowRef<Record<string, Point[]>>({})
  const compareMetricName = ref('metric')
  const compareConfig = shallowRef<ConfigDiffRow[]>([])
  const compareSummary = shallowRef<SummaryRow[]>([])
  const comparing = computed(() => comparison.value.some((r) => !r.loaded))
  const canCompare = computed(() => selected.value.length >= 2)
  let closers: (() => void)[] = []
  let generation = 0

  async function refresh(): Promise<void> {
    loading.value = true
    error.value = undefined
    try {
      const list = await useApi().call('listRuns', {})
      runs.value = [...list].sort((a, b) => b.created.localeCompare(a.created))
      const known = new Set(runs.value.map((r) => r.id))
      selected.value = selected.value.filter((id) => known.has(id))
    } catch (e) {
      error.value = messageOf(e)
    } finally {
      loading.value = false
    }
  }

  /** Delete a run's folder (the view asks for confirmation first). */
  async function remove(runId: string): Promise<boolean> {
    deleting.value = runId
    error.value = undefined
    try {
      await useApi().call('deleteRun', { runId })
      runs.value = runs.value.filter((r) => r.id !== runId)
      selected.value = selected.value.filter((id) => id !== runId)
      return true
    } catch (e) {
      error.value = messageOf(e)
      return false
    } finally {
      deleting.value = undefined
    }
  }

  function toggleSelected(runId: string, on: boolean): void {
    const rest = selected.value.filter((id) => id !== runId)
    selected.value = on ? [...rest, runId] : rest
  }

  /** Hand the folded traces to Vue: new arrays and rows, so charts and tables see a change. */
  function publish(entries: ComparisonEntry[]): void {
    comparison.value = entries.map((e) => ({ ...e }))
    const shown = entries.filter((e) => e.loaded && !e.error)
    compareLoss.value = lossCurves(shown)
    compareMetric.value = metricCurves(shown)
    compareMetricName.value = metricAxisName(shown)
    compareConfig.value = configDiff(shown.map((e) => e.trace.config))
    compareSummary.value = summaryRows(shown)
  }

  function closeStreams(): void {
    generation++
    for (const close of closers) close()
    closers = []
  }

  /** Load every ticked run's events (in the list's order) and compare them. */
  function compare(): void {
    if (!canCompare.value) return
    closeStreams()
    const mine = generation
    const order = new Map(runs.value.map((r, i) => [r.id, i]))
    const ids = [...selected.value].sort((a, b) => (order.get(a) ?? Infinity) - (order.get(b) ?? Infinity))
    const folders = ids.map(() => new RunFolder())
    const entries: ComparisonEntry[] = ids.map((id, i) => {
      const summary = runs.value.find((r) => r.id === id)
      if (summary) folders[i]!.trace.status = summary.status
      return { id, ...(summary && { summary }), trace: folders[i]!.trace, loaded: false }
    })
    publish(entries)
    ids.forEach((runId, i) => {
      const folder = folders[i]!
      let close: (() => void) | undefined
      let done = false
      const finish = (streamError?: string): void => {
        if (mine !== generation || done) return
        done = true
        close?.()
        entries[i] = { ...entries[i]!, loaded: true, ...(streamError && { error: streamError }) }
        publish(entries)
      }
      try {
        close = useApi().stream(
          'runEvents',
          { runId, after: -1 },
          (message) => {
            if (mine !== generation || done) return
            if (message.type === 'event') folder.fold(message.event)
            else {
              folder.trace.status = message.run.status
              if (message.run.error) folder.trace.error = message.run.error
              entries[i] = { ...entries[i]!, summary: message.run }
              // The replay is out; what would follow is a run still training, live: a snapshot stops here.
              finish()
            }
          },
          (streamError) => finish(streamError)
        )
        if (done) close()
        else closers.push(close)
      } catch (e) {
        finish(messageOf(e))
      }
    })
  }

  /** Close the comparison (and any stream still replaying). */
  function clearComparison(): void {
    closeStreams()
    publish([])
  }

  return {
    runs,
    loading,
    error,
    deleting,
    refresh,
    remove,
    selected,
    comparison,
    comparing,
    canCompare,
    compareLoss,
    compareMetric,
    compareMetricName,
    compareConfig,
    compareSummary,
    toggleSelected,
    compare,
    clearComparison
  }
})
