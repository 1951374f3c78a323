import type { LayerSpectrum } from '@shared/spectra'
import type { Amount } from './parameterCount'

/** A row of the layer table, whether from a model's targets (Layers) or a bare file's matrices (Inspect). */
export interface LayerTableItem {
  name: string
  block?: number
  role?: string
  shape: readonly [number, number]
  spectrum?: LayerSpectrum
  selected?: boolean
  trainable?: number
  override?: Amount
  band?: readonly [number, number]
}
