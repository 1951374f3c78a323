import type { HeatmapInput } from '../charts/options'

/** The role order of the heatmap's rows (transformer block order). */
export const roleOrder = ['query', 'key', 'value', 'attention.output', 'mlp.in', 'mlp.out']

export interface HeatmapRow {
  block?: number
  role?: string
  value?: number
}

/** Blocks × roles from rows that carry both; rows without a block or role, or a value, are left out. */
export function heatmapCells(rows: readonly HeatmapRow[], valueName: string): HeatmapInput {
  const blocks = [...new Set(rows.filter((r) => r.block !== undefined).map((r) => r.block!))].sort((a, b) => a - b)
  const present = new Set(rows.map((r) => r.role).filter((r): r is string => r !== undefined))
  const roles = [...roleOrder.filter((r) => present.has(r)), ...[...present].filter((r) => !roleOrder.includes(r)).sort()]
  const cells: [number, number, number][] = []
  for (const row of rows) {
    if (row.block === undefined || row.role === undefined || row.value === undefined || !Number.isFinite(row.value)) continue
    cells.push([blocks.indexOf(row.block), roles.indexOf(row.role), row.value])
  }
  return { blocks, roles, cells, valueName }
}
