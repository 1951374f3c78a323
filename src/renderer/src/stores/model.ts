import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { CachedModels, HubDownloadSummary, ModelSummary, RecentModel } from '@shared/api'
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

  /** The Model step's download from the Hub (the latest asked for here, or one running on the back end). */
  const download = shallowRef<HubDownloadSummary>()
  const downloading = computed(() => download.value?.state === 'running')
  let polling: ReturnType<typeof setTimeout> | undefined

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

  /**
   * Download the Hub id in the field into the Hugging Face cache, then open it. The back end runs the
   * download (it outlives a reload: `reattachDownload` finds it again); this polls its progress.
   */
  async function startDownload(model: string = path.value.trim()): Promise<void> {
    path.value = model
    error.value = undefined
    try {
      download.value = await useApi().call('downloadModel', { model })
    } catch (e) {
      download.value = { model, state: 'failed', startedAt: new Date().toISOString(), error: messageOf(e) }
      return
    }
    schedulePoll()
  }

  async function cancelDownload(): Promise<void> {
    const current = download.value
    if (current?.state !== 'running') return
    try {
      download.value = await useApi().call('cancelDownload', { model: current.model })
    } catch (e) {
      error.value = messageOf(e)
    }
  }

  /** After a reload: show a download the back end is still running. */
  async function reattachDownload(): Promise<void> {
    if (download.value) return
    const running = (await useApi()
      .call('downloads', {})
      .catch(() => [])).find((d) => d.state === 'running')
    if (running) {
      download.value = running
      schedulePoll()
    }
  }

  function schedulePoll(): void {
    clearTimeout(polling)
    polling = setTimeout(() => void poll(), downloadPollMs)
  }

  async function poll(): Promise<void> {
    const current = download.value
    if (current?.state !== 'running') return
    let latest: HubDownloadSummary | undefined
    try {
      latest = (await useApi().call('downloads', {})).find((d) => d.model === current.model && d.startedAt === current.startedAt)
    } catch {
      // A dropped connection: try again at the next tick (the transport reconnects).
      return schedulePoll()
    }
    // Cancelled or replaced meanwhile: keep what this page knows.
    if (download.value !== current) return
    if (!latest) {
      download.value = { ...current, state: 'failed', error: 'the back end no longer knows this download (was it restarted?); Download again resumes it' }
      return
    }
    download.value = latest
    if (latest.state === 'running') return schedulePoll()
    if (latest.state === 'done') {
      void loadCached()
      await open(latest.model)
    }
  }

  return { path, summary, opening, error, trainable, recent, cached, hubOrigin, download, downloading, open, close, loadRecent, loadCached, startDownload, cancelDownload, reattachDownload }
})

/** How often the Model step asks for a running download's progress. */
export const downloadPollMs = 500

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
