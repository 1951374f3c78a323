/** Numbers as the views show them. */

const countUnits: [number, string][] = [
  [1e12, 'T'],
  [1e9, 'B'],
  [1e6, 'M'],
  [1e3, 'k']
]

/** 1234 → "1.23 k", 110_000_000 → "110 M"; small counts in full. */
export function formatCount(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–'
  const abs = Math.abs(n)
  for (const [size, unit] of countUnits) if (abs >= size) return `${trimmed(n / size)} ${unit}`
  return String(Math.round(n))
}

/** 3 significant digits without trailing zeros. */
function trimmed(x: number): string {
  return String(Number(x.toPrecision(3)))
}

/** Exact count with thousands separators, for titles. */
export function formatExact(n: number | undefined): string {
  return n === undefined ? '–' : n.toLocaleString('en-US')
}

/** `bytes` in the largest unit of `base` (1000 or 1024) that keeps the number at least 1. */
function scaledBytes(bytes: number | undefined, base: number, units: readonly string[]): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '–'
  let value = bytes
  let unit = 0
  while (value >= base && unit < units.length - 1) {
    value /= base
    unit++
  }
  return unit === 0 ? `${value} B` : `${trimmed(value)} ${units[unit]}`
}

export function formatBytes(bytes: number | undefined): string {
  return scaledBytes(bytes, 1000, ['B', 'kB', 'MB', 'GB', 'TB'])
}

/** Sizes in powers of two, as GPU limits are set: 1073741824 → "1 GiB", 134217728 → "128 MiB". */
export function formatBinaryBytes(bytes: number | undefined): string {
  return scaledBytes(bytes, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB'])
}

/** 75 → "1 min 15 s", 3725 → "1 h 02 min". */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '–'
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`
}

/** A measured value: 4 significant digits, exponent for very small or large ones. */
export function formatValue(x: number | undefined | null): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return '–'
  if (x === 0) return '0'
  const abs = Math.abs(x)
  if (abs < 1e-3 || abs >= 1e5) return x.toExponential(2)
  return String(Number(x.toPrecision(4)))
}

export function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(3))} %`
}

/** A ratio in two significant digits: 41.7 → "42", 1.46 → "1.5". */
export function formatRatio(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(2))) : '–'
}
