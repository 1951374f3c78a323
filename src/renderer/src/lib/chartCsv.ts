/** Chart data as CSV (RFC 4180): what the Download CSV action of each chart writes. */

export type CsvCell = string | number | undefined

export interface CsvTable {
  header: string[]
  rows: CsvCell[][]
}

/** One field: numbers in full precision, missing as empty; quoted when it holds a comma, quote or line break. */
export function csvField(cell: CsvCell): string {
  if (cell === undefined) return ''
  const text = typeof cell === 'number' ? (Number.isFinite(cell) ? String(cell) : '') : cell
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** The table as CSV text: CRLF between records and after the last, as RFC 4180 writes them. */
export function toCsv({ header, rows }: CsvTable): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n'
}

/**
 * Several series of [x, value] as one table: a row per x that any series has, in order, and a column per
 * series (empty where a series has no value at that x). `extra` adds columns computed from x (a time).
 */
export function seriesTable(
  xName: string,
  series: readonly { name: string; points: readonly (readonly [number, number, ...number[]])[] }[],
  extra: readonly { name: string; value: (x: number) => CsvCell }[] = []
): CsvTable {
  const columns = series.map((s) => new Map(s.points.map((p) => [p[0], p[1]])))
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b)
  return {
    header: [xName, ...extra.map((e) => e.name), ...series.map((s) => s.name)],
    rows: xs.map((x) => [x, ...extra.map((e) => e.value(x)), ...columns.map((c) => c.get(x))])
  }
}
