import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { RunSummary } from '@shared/api'
import { useApi } from '../api'
import { messageOf } from '../lib/errors'

/** The Runs tool: every run in the runs folder, newest first. */
export const useRunsStore = defineStore('runs', () => {
  const runs = shallowRef<RunSummary[]>([])
  const loading = ref(false)
  const error = ref<string>()
  const deleting = ref<string>()

  async function refresh(): Promise<void> {
    loading.value = true
    error.value = undefined
    try {
      const list = await useApi().call('listRuns', {})
      runs.value = [...list].sort((a, b) => b.created.localeCompare(a.created))
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
      return true
    } catch (e) {
      error.value = messageOf(e)
      return false
    } finally {
      deleting.value = undefined
    }
  }

  return { runs, loading, error, deleting, refresh, remove }
})
