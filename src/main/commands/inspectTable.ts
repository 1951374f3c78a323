import { plural } from './args'
import type { InspectReport } from '../../shared/spectra'

/** Four significant digits, exponent only where a fixed form would hide the value. */
export function formatNumber(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return x === null ? '∞' : String(x)
  if (x === 0) return '0'
  const magnitude = Math.abs(x)
  return magnitude >= 1e5 || magnitude < 1e-3 ? x.toExponential(3) : x.toPrecision(4)
}

/** The human-readable form of `siva inspect`: one row per matrix, then what was skipped and why. */
export function formatInspectTable(report: InspectReport): string {
  const perc = `${Math.round(report.perc * 100)}%`
  const header = ['matrix', 'shape', 'dtype', 'σ_max', 'σ_min', 'erank', 'stable rank', 'cond', `bottom-${perc} k`, `bottom-${perc} energy`]
  const rows = report.tensors.map((t) =>
    t.error
      ? [t.name, `${t.shape[0]}×${t.shape[1]}`, t.dtype, 'not analysed (see the error)', '', '', '', '', '', '']
      : [
          t.name,
          `${t.shape[0]}×${t.shape[1]}`,
          t.dtype,
          formatNumber(t.spectralNorm),
          formatNumber(t.singularValues[t.singularValues.length - 1] ?? NaN),
          formatNumber(t.effectiveRank),
          formatNumber(t.stableRank),
          formatNumber(t.conditionNumber),
          String(t.bottomK),
          formatNumber(t.bottomEnergyShare)
        ]
  )
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i <= 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd()
  const out: string[] = []
  out.push(`${report.source} (${report.format}${report.modelType ? `, ${report.modelType}` : ''})`)
  out.push(
    `${plural(report.tensors.length, 'matrix', 'matrices')} analysed${report.valuesOnly ? ' (values only)' : ''}, ${plural(report.skipped.length, 'tensor')} skipped, ${report.seconds.toFixed(2)} s`
  )
  out.push('')
  out.push(line(header))
  out.push(line(widths.map((w) => '-'.repeat(w))))
  for (const r of rows) out.push(line(r))
  if (report.skipped.length > 0) {
    out.push('')
    out.push('skipped:')
    const byReason = new Map<string, string[]>()
    for (const s of report.skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.name])
    for (const [reason, names] of byReason) {
      const shown = names.slice(0, 3).join(', ')
      out.push(`  ${names.length} × ${reason}: ${shown}${names.length > 3 ? `, … (${names.length - 3} more)` : ''}`)
    }
  }
  return `${out.join('\n')}\n`
}
