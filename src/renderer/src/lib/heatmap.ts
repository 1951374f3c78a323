import type { HeatmapInput } from '../charts/options'

/** The role order of the heatmap's rows (transformer block order). */
export const roleOrder = ['query', 'key', 'value', 'attention.output', 'mlp.in', 'mlp.out']

export interface HeatmapRow {
  block?: number
  role?: string
  value?: number
  /** The matrix the cell stands for, when a click on it should reach the layer. */
  name?: string
  /** Selected for training: the cell is outlined. */
  selected?: boolean
}

/** One block × role position of the heatmap, with or without a value yet. */
export interface HeatmapEntry {
  /** Block index (x) and role index (y) in `blocks` and `roles`. */
  x: number
  y: number
  block: number
  role: string
  name?: string
  selected: boolean
  value?: number
}

export interface LayerHeatmapInput extends HeatmapInput {
  /** Every row that has a block and a role, analysed or not: what the cells' buttons stand for. */
  entries: HeatmapEntry[]
}

/** Blocks × roles from rows that carry both; rows without a block or role, or a value, are left out of the cells. */
export function heatmapCells(rows: readonly HeatmapRow[], valueName: string): LayerHeatmapInput {
  const blocks = [...new Set(rows.filter((r) => r.block !== undefined).map((r) => r.block!))].sort((a, b) => a - b)
  const present = new Set(rows.map((r) => r.role).filter((r): r is string => r !== undefined))
  const roles = [...roleOrder.filter((r) => present.has(r)), ...[...present].filter((r) => !roleOrder.includes(r)).sort()]
  const cells: [number, number, number][] = []
  const entries: HeatmapEntry[] = []
  for (const row of rows) {
    if (row.block === undefined || row.role === undefined) continue
    const x = blocks.indexOf(row.block)
    const y = roles.indexOf(row.role)
    const value = row.value !== undefined && Number.isFinite(row.value) ? row.value : undefined
    entries.push({ x, y, block: row.block, role: row.role, selected: row.selected === true, ...(row.name !== undefined && { name: row.name }), ...(value !== undefined && { value }) })
    if (value !== undefined) cells.push([x, y, value])
  }
  return { blocks, roles, cells, valueName, entries }
}

/** How the erank of matrices of different widths is shown: as it is, or over r = min(out, in), in [0, 1]. */
export type ErankView = 'erank' | 'normalised'

/** erank / r with r = min(out, in): 1 when the spectrum is flat, near 0 when one direction dominates. */
export function normalisedErank(erank: number, shape: readonly [number, number]): number {
  return erank / Math.min(shape[0], shape[1])
}

/** The erank a view shows for a matrix. */
export function erankIn(view: ErankView, erank: number, shape: readonly [number, number]): number {
  return view === 'normalised' ? normalisedErank(erank, shape) : erank
}
