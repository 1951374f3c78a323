import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { RunSummary } from '@shared/api'
import { activeRunStatuses as activeStatuses } from '@shared/runTimeline'
import { useApi } from '../api'
import { configDiff, lossCurves, metricAxisName, metricCurves, summaryRows, type ComparedRun, type ConfigDiffRow, type SummaryRow } from '../lib/compareRuns'
import { messageOf } from '../lib/errors'
import { frameScheduler } from '../lib/frame'
import { RunFolder, type Point } from '../lib/runTrace'

/** One run being compared: loaded once its replay is out (or its stream ended), with why it failed. */
export interface ComparisonEntry extends ComparedRun {
  loaded: boolean
  /** Followed as it trains: its stream is open past the replay and the run is queued, running or paused. */
  live: boolean
  /** Why loading it failed (it is left out of the charts). */
  error?: string
  /** Why following it stopped after it had loaded (its curves stay, as they were). */
  lost?: string
}

/** A compared run's stream and folded events; the entry the view sees is copied from it on each publish. */
interface Followed {
  entry: ComparisonEntry
  folder: RunFolder
  /** Closes the open stream, while one is open. */
  close?: () => void
  /** Which subscription is current: a closed one's late callbacks are ignored. */
  subscription: number
  /** Whether to open a stream again when following resumes (the run may still have more to say). */
  resume: boolean
}

/**
 * The Runs tool: every run in the runs folder, newest first, and a comparison of two or more of them.
 * A comparison replays each run's events and folds them as the Train step does; a run still training is
 * then followed live (its stream stays open), its curves updated at most once per animation frame. While
 * the view is off screen the streams are closed; they reopen after the last event seen.
 */
export const useRunsStore = defineStore('runs', () => {
  const runs = shallowRef<RunSummary[]>([])
  const loading = ref(false)
  const error = ref<string>()
  const deleting = ref<string>()
  /** The run whose name or notes are being saved. */
  const updating = ref<string>()

  // ---- comparison
  /** Ids ticked for comparison. */
  const selected = ref<string[]>([])
  const comparison = shallowRef<ComparisonEntry[]>([])
  // Chart and table data: replaced whole on each publish, never deep-reactive.
  const compareLoss = shallowRef<Record<string, Point[]>>({})
  const compareMetric = shallowRef<Record<string, Point[]>>({})
  const compareMetricName = ref('metric')
  const compareConfig = shallowRef<ConfigDiffRow[]>([])
  const compareSummary = shallowRef<SummaryRow[]>([])
  const comparing = computed(() => comparison.value.some((r) => !r.loaded))
  const canCompare = computed(() => selected.value.length >= 2)
  /** The compared runs, in the comparison's order. */
  const followed = new Map<string, Followed>()
  let subscriptions = 0
  const flusher = frameScheduler(publish)

  async function refresh(): Promise<void> {
    loading.value = true
    error.value = undefined
    try {
      const list = await useApi().call('listRuns', {})
      runs.value = [...list].sort((a, b) => b.created.localeCompare(a.created))
      const known = new Set(runs.value.map((r) => r.id))
      selected.value = selected.value.filter((id) => known.has(id))
      // Names may have changed elsewhere (another window, the folder by hand).
      if (followed.size > 0) publish()
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
      removeFromComparison(runId)
      return true
    } catch (e) {
      error.value = messageOf(e)
      return false
    } finally {
      deleting.value = undefined
    }
  }

  /**
   * Rename or annotate a run (updateRun): a field given replaces the stored one, an empty one removes it.
   * The list and the comparison show the answer.
   */
  async function update(runId: string, change: { name?: string; notes?: string }): Promise<boolean> {
    updating.value = runId
    error.value = undefined
    try {
      const answer = await useApi().call('updateRun', { runId, ...change })
      runs.value = runs.value.map((r) => {
        if (r.id !== runId) return r
        const { name: _name, notes: _notes, ...rest } = r
        return { ...rest, ...(answer.name !== undefined && { name: answer.name }), ...(answer.notes !== undefined && { notes: answer.notes }) }
      })
      if (followed.has(runId)) publish()
      return true
    } catch (e) {
      error.value = messageOf(e)
      return false
    } finally {
      updating.value = undefined
    }
  }

  function toggleSelected(runId: string, on: boolean): void {
    const rest = selected.value.filter((id) => id !== runId)
    selected.value = on ? [...rest, runId] : rest
  }

  /** Hand the folded traces to Vue: new arrays and rows, so charts and tables see a change. */
  function publish(): void {
    flusher.cancel()
    // Names from the run list: a replay's closing status need not carry them, and a rename changes them.
    const listed = new Map(runs.value.map((r) => [r.id, r]))
    const entries = [...followed.values()].map((f) => {
      const name = listed.has(f.entry.id) ? listed.get(f.entry.id)!.name : f.entry.summary?.name
      const { name: _name, ...entry } = f.entry
      return { ...entry, trace: f.folder.trace, ...(name !== undefined && { name }) }
    })
    comparison.value = entries
    const shown = entries.filter((e) => e.loaded && !e.error)
    compareLoss.value = lossCurves(shown)
    compareMetric.value = metricCurves(shown)
    compareMetricName.value = metricAxisName(shown)
    compareConfig.value = configDiff(shown.map((e) => e.trace.config))
    compareSummary.value = summaryRows(shown)
  }

  /**
   * Open a run's event stream after the last event folded in: its whole history the first time, what
   * came since when following resumes. The replay ends with the run's status; a run still training stays
   * followed, one that has ended closes its stream.
   */
  function subscribe(runId: string, f: Followed): void {
    const mine = ++subscriptions
    f.subscription = mine
    f.resume = false
    const current = (): boolean => followed.get(runId) === f && f.subscription === mine
    let close: (() => void) | undefined
    let ended = false
    const end = (streamError?: string, resume = false): void => {
      if (ended || !current()) return
      ended = true
      close?.()
      f.close = undefined
      f.resume = resume
      // Ended on its own: with no word from the back end, a log that stops short means an interrupted run.
      if (streamError === undefined && !resume) f.folder.settle()
      const { lost: _lost, ...rest } = f.entry
      if (streamError && !rest.loaded) f.entry = { ...rest, loaded: true, live: false, error: streamError }
      else f.entry = { ...rest, loaded: true, live: false, ...(streamError && { lost: streamError }) }
      publish()
    }
    try {
      close = useApi().stream(
        'runEvents',
        { runId, after: f.folder.trace.lastIndex },
        (message) => {
          if (ended || !current()) return
          if (message.type === 'event') {
            // Replayed events wait for the replay's end; live ones reach the screen once per frame.
            if (f.folder.fold(message.event) && f.entry.loaded) flusher.schedule()
            return
          }
          // The run answered: whatever went wrong with an earlier stream is over.
          const { lost: _lost, error: _error, ...rest } = f.entry
          f.entry = { ...rest, summary: message.run }
          f.folder.tell(message.run.status)
          if (message.run.error) f.folder.trace.error = message.run.error
          // Finished, cancelled or failed: nothing more will come.
          if (!activeStatuses.includes(message.run.status)) return end()
          const changed = !f.entry.loaded || !f.entry.live
          f.entry = { ...f.entry, loaded: true, live: true }
          if (changed) publish()
          else flusher.schedule()
        },
        // A stream that breaks (the connection was lost) is opened again when following resumes.
        (streamError) => end(streamError, streamError !== undefined)
      )
      if (ended) close()
      else f.close = close
    } catch (e) {
      end(messageOf(e), true)
    }
  }

  function unsubscribe(f: Followed): void {
    f.subscription = -1
    f.close?.()
    f.close = undefined
  }

  /**
   * Compare the ticked runs (in the list's order). Runs already compared keep their stream and curves,
   * runs no longer ticked leave (their streams close), new ones replay from the start.
   */
  function compare(): void {
    if (!canCompare.value) return
    const order = new Map(runs.value.map((r, i) => [r.id, i]))
    const ids = [...selected.value].sort((a, b) => (order.get(a) ?? Infinity) - (order.get(b) ?? Infinity))
    const kept = new Map(followed)
    followed.clear()
    for (const [id, f] of kept) if (!ids.includes(id)) unsubscribe(f)
    const added: [string, Followed][] = []
    for (const id of ids) {
      const known = kept.get(id)
      if (known) {
        followed.set(id, known)
        continue
      }
      const summary = runs.value.find((r) => r.id === id)
      const folder = new RunFolder()
      if (summary) folder.trace.status = summary.status
      const f: Followed = { entry: { id, ...(summary && { summary }), trace: folder.trace, loaded: false, live: false }, folder, subscription: 0, resume: false }
      followed.set(id, f)
      added.push([id, f])
    }
    publish()
    for (const [id, f] of added) subscribe(id, f)
  }

  /** Take one run out of the comparison (and untick it); its stream closes. */
  function removeFromComparison(runId: string): void {
    const f = followed.get(runId)
    if (!f) return
    unsubscribe(f)
    followed.delete(runId)
    selected.value = selected.value.filter((id) => id !== runId)
    publish()
  }

  /** Close the comparison (and every stream it follows). */
  function clearComparison(): void {
    for (const f of followed.values()) unsubscribe(f)
    followed.clear()
    publish()
  }

  /**
   * The view went off screen (or away): close every stream, keep the curves. follow() reopens those of
   * runs that may still be training, after the last event each has seen.
   */
  function unfollow(): void {
    flusher.flush()
    let changed = false
    for (const f of followed.values()) {
      if (!f.close) continue
      unsubscribe(f)
      f.resume = true
      if (f.entry.live) {
        f.entry = { ...f.entry, live: false }
        changed = true
      }
    }
    if (changed) publish()
  }

  /** Follow again the compared runs that may still be training, or whose replay was cut short (the view is back on screen). */
  function follow(): void {
    for (const [id, f] of followed) if (f.resume && !f.close && (!f.entry.loaded || activeStatuses.includes(f.folder.trace.status))) subscribe(id, f)
  }

  /** Apply live events now rather than at the next frame (tests, and before reading a final state). */
  function flush(): void {
    flusher.flush()
  }

  return {
    runs,
    loading,
    error,
    deleting,
    updating,
    refresh,
    remove,
    update,
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
    removeFromComparison,
    clearComparison,
    follow,
    unfollow,
    flush
  }
})
