import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { CachedModels, ModelSummary, RecentModel } from '@shared/api'
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
  /** The models in the local Hugging Face cache (undefined until listed, or when the list could not be had). */
  const cached = shallowRef<CachedModels>()

  /** Where the open model came from when it is a snapshot in the Hugging Face cache: its id and commit. */
  const hubOrigin = computed(() => (summary.value ? hubSnapshotOf(summary.value.path) : undefined))

  const trainable = computed(() => summary.value !== undefined && summary.value.targets.length > 0 && !summary.value.notTrainable)

  /**
   * Open a checkpoint; on success the Layers step gets its targets and starts analysing their spectra. On
   * failure no model is open: the steps after this one ask for one rather than go on with the previous.
   */
  async function open(at: string = path.value): Promise<boolean> {
    const folder = at.trim()
    path.value = folder
    if (folder === '') {
      error.value = 'Enter the folder of a Hugging Face checkpoint (config.json and *.safetensors or pytorch_model.bin), or a Hub id such as org/name.'
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

  async function loadCached(): Promise<void> {
    try {
      cached.value = await useApi().call('cachedModels', {})
    } catch {
      // As the recent list: a convenience the step works without.
      cached.value = undefined
    }
  }

  function close(): void {
    summary.value = undefined
    error.value = undefined
  }

  return { path, summary, opening, error, trainable, recent, cached, hubOrigin, open, close, loadRecent, loadCached }
})

/**
 * `…/models--org--name/snapshots/<commit>` (the Hugging Face cache's layout) → org/name and the commit; any
 * other path → undefined. A bare id's folder (models--gpt2) gives gpt2.
 */
export function hubSnapshotOf(path: string): { id: string; commit: string } | undefined {
  const match = /(?:^|[\\/])models--([^\\/]+)[\\/]snapshots[\\/]([0-9a-f]{40})[\\/]?$/.exec(path)
  if (!match) return undefined
  return { id: match[1]!.split('--').join('/'), commit: match[2]! }
}

/** What a click on a cached revision opens: the id for main, id@ref for another ref, id@commit for a snapshot no ref names. */
export function cachedRevisionId(id: string, revision: { commit: string; refs: string[] }): string {
  if (revision.refs.includes('main')) return id
  return `${id}@${revision.refs[0] ?? revision.commit}`
}
