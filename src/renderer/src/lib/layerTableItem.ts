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
  /** The k or LoRA rank the row asks for (its override, else the global amount), before any clamping to r. */
  requested?: number
  /** What the row gets without an override (the global k, perc's k on this matrix, or the global rank). */
  inherited?: number
  /** Why the engine would refuse the row's amount; then `trainable` is absent. */
  amountError?: string
  band?: readonly [number, number]
}
