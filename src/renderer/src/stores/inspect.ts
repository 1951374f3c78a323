import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { InspectReport, LayerSpectrum } from '@shared/api'
import { frameScheduler } from '../lib/frame'
import { heatmapCells } from '../lib/heatmap'
import { LatestStream } from '../lib/latestStream'
import { blockOf, guessRole } from '../lib/roles'

export interface InspectRow {
  name: string
  block?: number
  role?: string
  shape: [number, number]
  spectrum: LayerSpectrum
}

/** The Inspect tool: spectra of any checkpoint or safetensors file, no model family or training needed. */
export const useInspectStore = defineStore('inspect', () => {
  const path = ref('')
  const spectra = shallowRef<LayerSpectrum[]>([])
  const report = shallowRef<InspectReport>()
  const progress = ref<{ done: number; total: number }>()
  const running = ref(false)
  const error = ref<string>()
  const focused = ref<string>()
  let pending: LayerSpectrum[] = []
  const analysis = new LatestStream('analyseLayers')
  const flusher = frameScheduler(() => {
    spectra.value = [...spectra.value, ...pending]
    pending = []
  })

  const rows = computed<InspectRow[]>(() =>
    spectra.value.map((s) => {
      const block = blockOf(s.name)
      const role = guessRole(s.name)
      return { name: s.name, shape: s.shape, spectrum: s, ...(block !== undefined && { block }), ...(role && { role }) }
    })
  )
  const heatmap = computed(() => heatmapCells(rows.value.map((r) => ({ ...(r.block !== undefined && { block: r.block }), ...(r.role && { role: r.role }), ...(!r.spectrum.error && { value: r.spectrum.effectiveRank }) })), 'erank'))
  const focusedRow = computed(() => rows.value.find((r) => r.name === focused.value) ?? rows.value[0])

  function stop(): void {
    analysis.stop()
    flusher.cancel()
    pending = []
    running.value = false
  }

  function run(at: string = path.value): void {
    const file = at.trim()
    path.value = file
    if (file === '') {
      error.value = 'Enter a checkpoint folder, a .safetensors file or a pytorch_model.bin, or a Hub id.'
      return
    }
    stop()
    spectra.value = []
    report.value = undefined
    progress.value = undefined
    error.value = undefined
    focused.value = undefined
    running.value = true
    analysis.open(
      { path: file, valuesOnly: true },
      (event) => {
        if (event.type === 'progress') {
          progress.value = { done: event.done, total: event.total }
          if (event.layer) {
            pending.push(event.layer)
            flusher.schedule()
          }
        } else {
          flusher.cancel()
          pending = []
          report.value = event.report
          spectra.value = event.report.tensors
        }
      },
      (streamError) => {
        flusher.flush()
        running.value = false
        if (streamError) error.value = streamError
      }
    )
  }

  function focus(name: string): void {
    focused.value = name
  }

  function flush(): void {
    flusher.flush()
  }

  return { path, spectra, report, progress, running, error, focused, rows, heatmap, focusedRow, run, stop, focus, flush }
})
