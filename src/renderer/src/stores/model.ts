import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { ModelSummary, RecentModel } from '@shared/api'
import { useApi } from '../api'
import { messageOf } from '../lib/errors'
import { useLayersStore } from './layers'

/** The Model step: the checkpoint folder the run starts from. */
export const useModelStore = defineStore('model', () => {
  const path = ref('')
  const summary = shallowRef<ModelSummary>()
  const opening = ref(false)
  const error = ref<string>()
  /** Checkpoints opened before, newest first (kept by the back end, across sessions). */
  const recent = shallowRef<RecentModel[]>([])

  const trainable = computed(() => summary.value !== undefined && summary.value.targets.length > 0 && !summary.value.notTrainable)

  /**
   * Open a checkpoint; on success the Layers step gets its targets and starts analysing their spectra. On
   * failure no model is open: the steps after this one ask for one rather than go on with the previous.
   */
  async function open(at: string = path.value): Promise<boolean> {
    const folder = at.trim()
    path.value = folder
    if (folder === '') {
      error.value = 'Enter the folder of a Hugging Face checkpoint (config.json and *.safetensors).'
      return false
    }
    opening.value = true
    error.value = undefined
    try {
      const opened = await useApi().call('openModel', { path: folder })
      summary.value = opened
      useLayersStore().load(opened)
      void loadRecent()
      return true
    } catch (e) {
      // The error replaces the card: the model shown before is no longer the one the steps use (it is
      // still in the recent list, one click away).
      summary.value = undefined
      error.value = messageOf(e)
      return false
    } finally {
      opening.value = false
    }
  }

  async function loadRecent(): Promise<void> {
    try {
      recent.value = await useApi().call('recentModels', {})
    } catch {
      // The list is a convenience: without it the step still works.
      recent.value = []
    }
  }

  function close(): void {
    summary.value = undefined
    error.value = undefined
  }

  return { path, summary, opening, error, trainable, recent, open, close, loadRecent }
})
