import { isMethodName, methodInfo, methodTitle } from '../../../shared/methods'
import type { EvalPoint, LayerSpectrumReport, RunReport } from './report'

/**
 * `report.html`: one self-contained page for a run report. No scripts, and nothing fetched (the CSP allows
 * inline styles and data: images only); every chart is inline SVG drawn here, every text from the run
 * (paths, labels, layer names, messages) escaped.
 */
export function renderReportHtml(report: RunReport): string {
  const { config } = report
  const title = `SiVA Studio run report: ${config.method} on ${baseName(config.model)}`
  const body = [
    header(report),
    overview(report),
    metricsSection(report),
    curvesSection(report),
    parametersSection(report),
    spectraSection(report),
    dataSection(report),
    configSection(report),
    `<footer>Report ${escapeHtml(report.format)} v${report.version}, made ${escapeHtml(report.created)}. Every number here is also in report.json.</footer>`
  ].join('\n')
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}</title>
<style>${css}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`
}

/** Curves of at least this many points are thinned for drawing (report.json keeps them all). */
const drawLimit = 5000
/** Points a thinned curve keeps: the lowest and highest of each bucket, so spikes survive. */
const drawnPoints = 2000
/** Singular values drawn per line; a long spectrum is thinned the same way. */
const spectrumPoints = 800

// ---------------------------------------------------------------- sections

function header(report: RunReport): string {
  const { config } = report
  return `<header>
<h1>Run report <span class="status status-${report.status}">${escapeHtml(report.status)}</span></h1>
<p class="lead">${escapeHtml(methodName(config.method))}, ${escapeHtml(taskName(config.task))}, on <code>${escapeHtml(config.model)}</code></p>
${report.error !== undefined ? `<p class="error">Stopped with an error: ${escapeHtml(report.error)}</p>` : ''}
</header>`
}

function overview(report: RunReport): string {
  const cells: [string, string][] = [
    ['Steps', `${formatNumber(report.stepsDone)}${report.totalSteps !== undefined ? ` of ${formatNumber(report.totalSteps)}` : ''}`],
    ['Training time', report.seconds !== undefined ? formatSeconds(report.seconds) : '—'],
    ['Checkpoint', report.checkpoint ? `${escapeHtml(report.checkpoint.name)} (step ${formatNumber(report.checkpoint.step)})` : 'none written'],
    ['Backend', escapeHtml(report.run.backend ?? '—')],
    ['Run started', escapeHtml(report.run.created)],
    ['Resumed', report.run.resumedFrom.length === 0 ? 'no' : escapeHtml(report.run.resumedFrom.map((s) => `from step ${s}`).join(', '))]
  ]
  const key = report.metrics.final?.metrics[report.metrics.key]
  if (key !== undefined) cells.unshift([`Final ${report.metrics.key}`, formatNumber(key)])
  if (report.parameters) cells.unshift(['Trainable parameters', `${formatNumber(report.parameters.total)} (${formatPercent(report.parameters.ratios.trainableToFull)} of full)`])
  return `<section class="cards">${cells.map(([name, value]) => `<div class="card"><div class="card-name">${escapeHtml(name)}</div><div class="card-value">${value}</div></div>`).join('')}</section>`
}

function metricsSection(report: RunReport): string {
  const { final, best, key, higherIsBetter } = report.metrics
  if (!final && !best) return section('Final metrics', '<p class="note">No evaluation was run.</p>')
  const names = [...new Set([...Object.keys(final?.metrics ?? {}), ...Object.keys(best?.metrics ?? {})])]
  const head = `<tr><th>Metric</th><th class="num">At the checkpoint${final ? ` (step ${formatNumber(final.step)})` : ''}</th><th class="num">Best${best ? ` (step ${formatNumber(best.step)})` : ''}</th></tr>`
  const rows = names.map((name) => `<tr${name === key ? ' class="primary"' : ''}><td>${escapeHtml(name)}</td><td class="num">${formatNumber(final?.metrics[name])}</td><td class="num">${formatNumber(best?.metrics[name])}</td></tr>`)
  const note = `<p class="note">The best step is chosen by ${escapeHtml(key)} (${higherIsBetter ? 'higher' : 'lower'} is better), on ${formatNumber(report.data?.validation)} validation examples.</p>`
  return section('Final metrics', `${table(head, rows)}${note}`)
}

function curvesSection(report: RunReport): string {
  const { train, eval: evals } = report.curves
  if (train.length === 0) return section('Training curves', '<p class="note">No optimiser step was taken.</p>')
  const mark = report.checkpoint && report.checkpoint.step < report.stepsDone ? { x: report.checkpoint.step, label: report.checkpoint.name } : undefined
  const rawLoss: Point[] = train.map((p) => [p.step, p.loss])
  const weight = smoothingWeight(rawLoss.length)
  const smooth = ema(rawLoss, weight)
  const validationLoss: Point[] = evals.map((e) => [e.step, e.metrics['loss'] ?? null])
  const lossSeries: Series[] = [
    { label: 'train loss', points: thin(rawLoss), className: 'c-raw' },
    { label: `train loss, smoothed (EMA ${weight.toFixed(2)})`, points: thin(smooth), className: 'c-smooth', bold: true }
  ]
  if (validationLoss.some(([, y]) => y !== null)) lossSeries.push({ label: 'validation loss', points: validationLoss, className: 'c-eval', markers: true })
  const charts = [figure('Loss', lineChart(lossSeries, { xLabel: 'step', ...(mark && { mark }) }), lossSeries, thinNote(train.length))]
  for (const group of metricGroups(evals)) {
    const series = group.map((name, i) => ({ label: name, points: evals.map((e): Point => [e.step, e.metrics[name] ?? null]), className: `c-m${i % 4}`, markers: true }))
    charts.push(figure(group.length === 1 ? `Validation ${group[0]}` : 'Validation scores', lineChart(series, { xLabel: 'step', ...(mark && { mark }) }), series))
  }
  const lr: Series[] = [{ label: 'learning rate', points: thin(train.map((p) => [p.step, p.lr])), className: 'c-lr' }]
  charts.push(figure('Learning rate', lineChart(lr, { xLabel: 'step', ...(mark && { mark }) }), lr, thinNote(train.length)))
  const notes = [
    ...(mark ? [`The dashed vertical line marks the reported checkpoint, ${escapeHtml(mark.label)}.`] : []),
    ...(evals.length === 0 ? ['No evaluation was run, so there are no validation curves.'] : [])
  ]
  return section('Training curves', `<div class="charts">${charts.join('')}</div>${notes.map((note) => `<p class="note">${note}</p>`).join('')}`)
}

/** Metrics other than loss: scores within [−1, 1] share one chart, anything else gets its own. */
function metricGroups(evals: EvalPoint[]): string[][] {
  const names = [...new Set(evals.flatMap((e) => Object.keys(e.metrics)))].filter((name) => name !== 'loss')
  const withinUnit = (name: string): boolean => evals.every((e) => Math.abs(e.metrics[name] ?? 0) <= 1)
  const bounded = names.filter(withinUnit)
  const groups = bounded.length > 0 ? [bounded] : []
  for (const name of names) if (!bounded.includes(name)) groups.push([name])
  return groups
}

function parametersSection(report: RunReport): string {
  const p = report.parameters
  if (!p) return section('Parameters', '<p class="note">The run stopped before its model was ready: no parameter counts.</p>')
  const head = '<tr><th></th><th class="num">Parameters</th><th class="num">This run trains</th></tr>'
  const rows = [
    row('Adapter (this method, on its targets)', p.adapter, ''),
    row('Task head', p.head, ''),
    row('Trainable in this run', p.total, ''),
    row('LoRA r = 8 on the same targets', p.lora8, `${formatPercent(p.ratios.adapterToLora8)} (adapter)`),
    row('LoRA r = 8 plus the same head', p.lora8 + p.head, formatPercent(p.ratios.trainableToLora8)),
    row('Full fine-tuning', p.full, formatPercent(p.ratios.trainableToFull))
  ]
  const bars = barChart(
    [
      { label: 'this run', value: p.total, className: 'c-smooth' },
      { label: 'LoRA r = 8 + head', value: p.lora8 + p.head, className: 'c-before' },
      { label: 'full fine-tuning', value: p.full, className: 'c-before' }
    ],
    { logX: true, caption: 'trainable parameters, log scale' }
  )
  const targets =
    report.targets.length === 0
      ? `<p class="note">No adapted layers: method ${escapeHtml(report.config.method)} ${isMethodName(report.config.method) && methodInfo(report.config.method).kind === 'full' ? 'trains every weight' : 'trains the task head only'}.</p>`
      : `<h3>Adapted layers (${formatNumber(report.targets.length)})</h3>${table(
          '<tr><th>Layer</th><th class="num">Shape (out × in)</th><th class="num">Trainable</th><th class="num">Band</th></tr>',
          report.targets.map((t) => `<tr><td><code>${escapeHtml(t.name)}</code></td><td class="num">${formatNumber(t.shape[0])} × ${formatNumber(t.shape[1])}</td><td class="num">${formatNumber(t.trainable)}</td><td class="num">${t.band ? `[${t.band[0]}, ${t.band[1]})` : '—'}</td></tr>`)
        )}`
  return section('Parameters', `${table(head, rows)}<figure class="wide">${bars}</figure>${targets}`)

  function row(name: string, count: number, share: string): string {
    return `<tr><td>${escapeHtml(name)}</td><td class="num">${formatNumber(count)}</td><td class="num">${share}</td></tr>`
  }
}

function spectraSection(report: RunReport): string {
  const spectra = report.spectra
  if (!spectra) {
    return section(
      'Spectra',
      `<p class="note">Method ${escapeHtml(report.config.method)} does not train singular values in the weights' own basis, so this run records no spectra and no effective-rank changes.</p>`
    )
  }
  const at = report.checkpoint ? `the checkpoint's step ${formatNumber(report.checkpoint.step)}` : `step ${formatNumber(report.stepsDone)}`
  const afterNote =
    spectra.afterStep === null
      ? `<p class="note">No spectra were recorded at or before ${at}: only the starting spectra are shown.</p>`
      : `<p class="note">"After" is the spectrum recorded at step ${formatNumber(spectra.afterStep)}, the latest at or before ${at}. Effective rank: exp(−Σ pᵢ ln pᵢ), pᵢ = σᵢ / Σσⱼ.</p>`
  const head = '<tr><th>Layer</th><th class="num">Band</th><th class="num">σ<sub>max</sub> before</th><th class="num">σ<sub>max</sub> after</th><th class="num">σ<sub>min</sub> before</th><th class="num">σ<sub>min</sub> after</th><th class="num">erank before</th><th class="num">erank after</th><th class="num">change</th></tr>'
  const rows = spectra.layers.map(
    (l) =>
      `<tr><td><code>${escapeHtml(l.name)}</code></td><td class="num">[${l.band[0]}, ${l.band[1]})</td><td class="num">${formatNumber(l.before.sigmaMax)}</td><td class="num">${formatNumber(l.after?.sigmaMax)}</td><td class="num">${formatNumber(l.before.sigmaMin)}</td><td class="num">${formatNumber(l.after?.sigmaMin)}</td><td class="num">${formatNumber(l.before.erank)}</td><td class="num">${formatNumber(l.after?.erank)}</td><td class="num ${changeClass(l.erankChange)}">${formatSigned(l.erankChange)}</td></tr>`
  )
  const changes = spectra.layers.filter((l) => l.erankChange !== undefined)
  const bars =
    changes.length > 0
      ? `<h3>Effective-rank change per layer</h3><figure class="wide">${barChart(
          changes.map((l) => ({ label: l.name, value: l.erankChange!, className: l.erankChange! >= 0 ? 'c-up' : 'c-down' })),
          { caption: 'erank after − erank before' }
        )}</figure>`
      : ''
  const charts = spectra.layers.map((l) => spectrumFigure(l))
  const grid = `<details${spectra.layers.length <= 24 ? ' open' : ''}><summary>Spectrum of each layer, before and after (${formatNumber(spectra.layers.length)}), log scale, trained band shaded</summary><div class="charts">${charts.join('')}</div></details>`
  return section('Spectra', `${afterNote}${table(head, rows)}${bars}${grid}`)
}

function spectrumFigure(layer: LayerSpectrumReport): string {
  const series: Series[] = [{ label: 'before', points: thin(layer.before.values.map((s, i) => [i + 1, s]), spectrumPoints, 1000), className: 'c-before', dashed: true }]
  if (layer.after) series.push({ label: 'after', points: thin(layer.after.values.map((s, i) => [i + 1, s]), spectrumPoints, 1000), className: 'c-after' })
  const chart = lineChart(series, { xLabel: 'index i (descending σ)', logY: true, small: true, shade: [layer.band[0] + 0.5, layer.band[1] + 0.5] })
  const erank = `erank ${formatNumber(layer.before.erank)}${layer.after ? ` → ${formatNumber(layer.after.erank)}` : ''}`
  return figure(layer.name, chart, series, erank, true)
}

function dataSection(report: RunReport): string {
  const parts: string[] = []
  const data = report.data
  if (data) {
    const rows = [`<tr><td>Training examples</td><td class="num">${formatNumber(data.train)}</td></tr>`, `<tr><td>Validation examples</td><td class="num">${formatNumber(data.validation)}</td></tr>`]
    if (data.labels) rows.push(`<tr><td>Classes</td><td class="num">${formatNumber(data.labels.length)}</td></tr>`)
    parts.push(table('<tr><th></th><th class="num">Count</th></tr>', rows))
    if (data.labels) {
      const list = `<ol class="labels" start="0">${data.labels.map((label) => `<li><code>${escapeHtml(label)}</code></li>`).join('')}</ol>`
      parts.push(data.labels.length <= 50 ? `<h3>Classes, in id order</h3>${list}` : `<details><summary>Classes, in id order (${formatNumber(data.labels.length)})</summary>${list}</details>`)
    }
  } else parts.push('<p class="note">The run stopped before its data was ready.</p>')
  const fingerprints = report.run.data
  if (fingerprints) {
    const sides = [['training', fingerprints.train], ...(fingerprints.validation ? [['validation', fingerprints.validation] as const] : [])] as const
    parts.push(
      `<h3>Files, as they were when the run started</h3>${table(
        '<tr><th></th><th>Path</th><th class="num">Bytes</th><th class="num">Files</th><th>sha256</th></tr>',
        sides.map(([side, f]) => `<tr><td>${side}</td><td><code>${escapeHtml(f.path)}</code></td><td class="num">${formatNumber(f.bytes)}</td><td class="num">${formatNumber(f.files)}</td><td><code class="hash">${escapeHtml(f.sha256)}</code></td></tr>`)
      )}`
    )
  }
  return section('Data', parts.join(''))
}

/** What a reader looks for first; the rest keeps the run's own order. */
const leadingSettings = ['model', 'data', 'validation', 'task', 'method', 'perc', 'k', 'rank', 'alpha', 'targets']

function configSection(report: RunReport): string {
  const entries = Object.entries(report.config).filter(([, value]) => value !== undefined)
  const rank = (name: string): number => (leadingSettings.includes(name) ? leadingSettings.indexOf(name) : leadingSettings.length)
  const config = entries.sort((a, b) => rank(a[0]) - rank(b[0]))
  const rows = config.map(([name, value]) => `<tr><td>${escapeHtml(name)}</td><td><code>${escapeHtml(typeof value === 'string' ? value : JSON.stringify(value))}</code></td></tr>`)
  const versions = Object.entries(report.run.versions).map(([name, value]) => `<tr><td>${escapeHtml(name)}</td><td><code>${escapeHtml(String(value))}</code></td></tr>`)
  return section('Configuration', `${table('<tr><th>Setting</th><th>Value</th></tr>', rows)}${versions.length > 0 ? `<h3>Versions</h3>${table('<tr><th>Component</th><th>Version</th></tr>', versions)}` : ''}`)
}

// ---------------------------------------------------------------- charts

type Point = [number, number | null]

interface Series {
  label: string
  points: Point[]
  /** Colour class, shared with the legend. */
  className: string
  bold?: boolean
  dashed?: boolean
  markers?: boolean
}

interface ChartOptions {
  xLabel: string
  logY?: boolean
  /** An x range to shade (the trained band). */
  shade?: [number, number]
  /** A vertical marker (the exported checkpoint, when it is not the last step). */
  mark?: { x: number; label: string }
  small?: boolean
}

const margin = { left: 58, right: 14, top: 12, bottom: 38 }

function lineChart(series: Series[], options: ChartOptions): string {
  const width = options.small ? 360 : 420
  const height = options.small ? 220 : 250
  const plotW = width - margin.left - margin.right
  const plotH = height - margin.top - margin.bottom
  const finite = series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && y !== null && Number.isFinite(y)) as [number, number][])
  const xs = finite.map(([x]) => x)
  const ys = finite.map(([, y]) => y).filter((y) => !options.logY || y > 0)
  if (xs.length === 0 || ys.length === 0) return `<svg viewBox="0 0 ${width} ${height}" class="chart" role="img" aria-label="no data"><text x="${width / 2}" y="${height / 2}" class="empty">no data</text></svg>`

  let [x0, x1] = extent(xs)
  if (options.shade) [x0, x1] = [Math.min(x0, options.shade[0]), Math.max(x1, options.shade[1])]
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1]
  let [y0, y1] = extent(ys)
  if (options.logY) {
    let [l0, l1] = [Math.log10(y0), Math.log10(y1)]
    if (l1 - l0 < 1e-9) [l0, l1] = [l0 - 0.5, l1 + 0.5]
    const pad = (l1 - l0) * 0.05
    ;[y0, y1] = [10 ** (l0 - pad), 10 ** (l1 + pad)]
  } else {
    if (y0 === y1) [y0, y1] = y0 === 0 ? [-1, 1] : [y0 - Math.abs(y0) * 0.1, y1 + Math.abs(y1) * 0.1]
    const pad = (y1 - y0) * 0.05
    ;[y0, y1] = [y0 - pad, y1 + pad]
  }
  const sx = (x: number): number => margin.left + ((x - x0) / (x1 - x0)) * plotW
  const ty = options.logY ? Math.log10 : (y: number): number => y
  const [t0, t1] = [ty(y0), ty(y1)]
  // Zeros on a log axis (a singular value driven to 0) sit on the bottom edge.
  const sy = (y: number): number => margin.top + plotH - ((ty(Math.max(y, y0)) - t0) / (t1 - t0)) * plotH

  const parts: string[] = []
  if (options.shade) {
    const [a, b] = [sx(Math.max(x0, options.shade[0])), sx(Math.min(x1, options.shade[1]))]
    parts.push(`<rect class="band" x="${n(a)}" y="${margin.top}" width="${n(Math.max(0, b - a))}" height="${plotH}"><title>trained band</title></rect>`)
  }
  const yTicks = options.logY ? logTicks(y0, y1) : niceTicks(y0, y1, 5)
  for (const t of yTicks) parts.push(`<line class="gridline" x1="${margin.left}" x2="${margin.left + plotW}" y1="${n(sy(t))}" y2="${n(sy(t))}"/><text class="tick" x="${margin.left - 6}" y="${n(sy(t) + 4)}" text-anchor="end">${formatTick(t)}</text>`)
  // Steps and indices are whole numbers: no tick between them.
  const wholeX = xs.every(Number.isInteger)
  for (const t of niceTicks(x0, x1, options.small ? 4 : 6).filter((t) => !wholeX || Number.isInteger(t))) parts.push(`<line class="gridline" x1="${n(sx(t))}" x2="${n(sx(t))}" y1="${margin.top}" y2="${margin.top + plotH}"/><text class="tick" x="${n(sx(t))}" y="${margin.top + plotH + 16}" text-anchor="middle">${formatTick(t)}</text>`)
  parts.push(`<rect class="frame" x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}"/>`)
  parts.push(`<text class="axis" x="${margin.left + plotW / 2}" y="${height - 4}" text-anchor="middle">${escapeHtml(options.xLabel)}${options.logY ? ' · σ on a log scale' : ''}</text>`)
  if (options.mark && options.mark.x >= x0 && options.mark.x <= x1) {
    const x = n(sx(options.mark.x))
    parts.push(`<line class="mark" x1="${x}" x2="${x}" y1="${margin.top}" y2="${margin.top + plotH}"><title>${escapeHtml(options.mark.label)}</title></line>`)
  }
  for (const s of series) {
    const path = linePath(s.points, sx, sy)
    if (path) parts.push(`<path class="line ${s.className}${s.bold ? ' bold' : ''}${s.dashed ? ' dashed' : ''}" d="${path}"><title>${escapeHtml(s.label)}</title></path>`)
    const dots = s.points.filter(([x, y]) => Number.isFinite(x) && y !== null && Number.isFinite(y)) as [number, number][]
    if (s.markers && dots.length <= 200) for (const [x, y] of dots) parts.push(`<circle class="dot ${s.className}" cx="${n(sx(x))}" cy="${n(sy(y))}" r="2.8"><title>${escapeHtml(`${s.label} at ${formatTick(x)}: ${formatNumber(y)}`)}</title></circle>`)
  }
  return `<svg viewBox="0 0 ${width} ${height}" class="chart" role="img" aria-label="${escapeHtml(series.map((s) => s.label).join(', '))}">${parts.join('')}</svg>`
}

/** An SVG path through the points; a missing value (null, non-finite) breaks the line. */
function linePath(points: Point[], sx: (x: number) => number, sy: (y: number) => number): string {
  let d = ''
  let pen = false
  for (const [x, y] of points) {
    if (y === null || !Number.isFinite(y) || !Number.isFinite(x)) {
      pen = false
      continue
    }
    d += `${pen ? 'L' : 'M'}${n(sx(x))} ${n(sy(y))}`
    pen = true
  }
  return d
}

interface Bar {
  label: string
  value: number
  className: string
}

/** Horizontal bars, one per row; on a log axis a bar of 0 is left out and its value still printed. */
function barChart(bars: Bar[], options: { logX?: boolean; caption: string }): string {
  const rowH = 22
  const labelW = Math.min(300, 12 + 6.4 * Math.max(...bars.map((b) => shorten(b.label).length)))
  const valueW = 84
  const width = 760
  const plotW = width - labelW - valueW
  const height = bars.length * rowH + 30
  const values = bars.map((b) => b.value).filter((v) => Number.isFinite(v) && (!options.logX || v > 0))
  let scale: (v: number) => number
  let zero: number
  if (options.logX) {
    const hi = Math.log10(Math.max(1, ...values))
    const lo = Math.min(0, Math.floor(Math.log10(Math.min(...values, 1))))
    scale = (v: number): number => labelW + ((Math.log10(v) - lo) / Math.max(1e-9, hi - lo)) * plotW
    zero = labelW
  } else {
    const lo = Math.min(0, ...values)
    const hi = Math.max(0, ...values)
    const span = hi - lo || 1
    scale = (v: number): number => labelW + ((v - lo) / span) * plotW
    zero = scale(0)
  }
  const rows = bars.map((bar, i) => {
    const y = 6 + i * rowH
    const drawable = Number.isFinite(bar.value) && (!options.logX || bar.value > 0)
    const end = drawable ? scale(bar.value) : zero
    const [a, b] = [Math.min(zero, end), Math.max(zero, end)]
    return (
      `<text class="tick" x="${labelW - 8}" y="${y + 14}" text-anchor="end">${escapeHtml(shorten(bar.label))}<title>${escapeHtml(bar.label)}</title></text>` +
      (drawable ? `<rect class="bar ${bar.className}" x="${n(a)}" y="${y + 3}" width="${n(Math.max(1, b - a))}" height="${rowH - 8}"><title>${escapeHtml(`${bar.label}: ${formatNumber(bar.value)}`)}</title></rect>` : '') +
      `<text class="tick value" x="${width - 4}" y="${y + 14}" text-anchor="end">${options.logX ? formatNumber(bar.value) : formatSigned(bar.value)}</text>`
    )
  })
  const axis = `<line class="frame" x1="${n(zero)}" x2="${n(zero)}" y1="4" y2="${bars.length * rowH + 6}"/><text class="axis" x="${labelW + plotW / 2}" y="${height - 4}" text-anchor="middle">${escapeHtml(options.caption)}</text>`
  return `<svg viewBox="0 0 ${width} ${height}" class="chart bars" role="img" aria-label="${escapeHtml(options.caption)}">${axis}${rows.join('')}</svg>`
}

/** A figure: title, chart, legend, and an optional note under it. */
function figure(title: string, chart: string, series: Series[], note = '', small = false): string {
  const legend = series.map((s) => `<span class="key ${s.className}${s.dashed ? ' dashed' : ''}">${escapeHtml(s.label)}</span>`).join('')
  return `<figure${small ? ' class="small"' : ''}><figcaption>${escapeHtml(title)}</figcaption>${chart}<div class="legend">${legend}</div>${note ? `<div class="note">${escapeHtml(note)}</div>` : ''}</figure>`
}

/** Debiased exponential moving average (as TensorBoard smooths); gaps stay gaps. */
function ema(points: Point[], weight: number): Point[] {
  let average = 0
  let norm = 0
  return points.map(([x, y]) => {
    if (y === null) return [x, null]
    average = weight * average + (1 - weight) * y
    norm = weight * norm + (1 - weight)
    return [x, average / norm]
  })
}

/** Heavier smoothing for longer runs: about the last 5 % of the run, between 0.6 and 0.99. */
function smoothingWeight(count: number): number {
  return Math.min(0.99, Math.max(0.6, 1 - 20 / Math.max(1, count)))
}

/** Keep at most `keep` points once there are `limit` or more: the lowest and highest of each bucket, in order. */
function thin(points: Point[], keep = drawnPoints, limit = drawLimit): Point[] {
  if (points.length < limit) return points
  const buckets = Math.max(1, Math.floor(keep / 2))
  const size = Math.ceil(points.length / buckets)
  const out: Point[] = []
  for (let start = 0; start < points.length; start += size) {
    let lo: Point | undefined
    let hi: Point | undefined
    let lowIndex = -1
    let highIndex = -1
    for (let i = start; i < Math.min(points.length, start + size); i++) {
      const y = points[i]![1]
      if (y === null || !Number.isFinite(y)) continue
      if (!lo || y < lo[1]!) [lo, lowIndex] = [points[i]!, i]
      if (!hi || y > hi[1]!) [hi, highIndex] = [points[i]!, i]
    }
    if (!lo || !hi) continue
    if (lowIndex === highIndex) out.push(lo)
    else out.push(...(lowIndex < highIndex ? [lo, hi] : [hi, lo]))
  }
  return out
}

function thinNote(count: number): string {
  return count >= drawLimit ? `${formatNumber(count)} steps, drawn as the low and high of ${formatNumber(Math.floor(drawnPoints / 2))} buckets` : ''
}

function extent(values: number[]): [number, number] {
  let lo = Infinity
  let hi = -Infinity
  for (const v of values) {
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  return [lo, hi]
}

/** Ticks at 1, 2 or 5 times a power of ten. */
function niceTicks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / Math.max(1, count)
  const power = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power
  const ticks: number[] = []
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)))
  return ticks
}

/** Decades on a log axis; 1-2-5 within a decade when the range spans less than two. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) for (const m of [1, 2, 5]) ticks.push(m * 10 ** e)
  const inside = ticks.filter((t) => t >= lo && t <= hi)
  const decades = inside.filter((t) => Number.isInteger(Math.log10(t)))
  if (decades.length >= 2) return decades
  return inside.length >= 2 ? inside : niceTicks(lo, hi, 4).filter((t) => t > 0)
}

// ---------------------------------------------------------------- text

function section(title: string, content: string): string {
  return `<section><h2>${escapeHtml(title)}</h2>${content}</section>`
}

function table(head: string, rows: string[]): string {
  return `<div class="table"><table><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>`
}

/** Text for HTML content and attribute values alike. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function baseName(path: string): string {
  return path.split(/[\\/]/).filter((p) => p !== '').at(-1) ?? path
}

/** A long layer name keeps its end, where the block and module are. */
function shorten(label: string, max = 44): string {
  return label.length <= max ? label : `…${label.slice(label.length - max + 1)}`
}

const n = (x: number): string => (Number.isFinite(x) ? String(Math.round(x * 10) / 10) : '0')

function formatNumber(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—'
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞'
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return x.toLocaleString('en-US')
  const a = Math.abs(x)
  if (a < 1e-3 || a >= 1e6) return x.toExponential(3)
  return String(Number(x.toPrecision(4)))
}

function formatSigned(x: number | null | undefined): string {
  return x !== null && x !== undefined && x > 0 ? `+${formatNumber(x)}` : formatNumber(x)
}

function formatTick(x: number): string {
  const a = Math.abs(x)
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(1).replace('e+', 'e')
  return String(Number(x.toPrecision(4)))
}

function formatPercent(ratio: number | null): string {
  if (ratio === null) return '—'
  const percent = ratio * 100
  return `${percent !== 0 && Math.abs(percent) < 0.01 ? percent.toExponential(2) : String(Number(percent.toPrecision(3)))} %`
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min ${String(s % 60).padStart(2, '0')} s`
}

function changeClass(change: number | undefined): string {
  return change === undefined || change === 0 ? '' : change > 0 ? 'up' : 'down'
}

/** The method as the app names it (the catalogue's title); a name from an unknown run.json as it stands. */
function methodName(method: string): string {
  return isMethodName(method) ? methodTitle(method) : method
}

function taskName(task: RunReport['config']['task']): string {
  return { classify: 'text classification', regress: 'regression', 'causal-lm': 'causal language modelling', 'image-classify': 'image classification' }[task] ?? task
}

const css = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1c2128; --muted: #5d6672; --panel: #f5f7f9; --border: #d8dde3; --grid: #e7eaee;
  --raw: #a9bfdc; --smooth: #1f5fbf; --eval: #c2410c; --lr: #6b46c1; --before: #8b939e; --after: #d9480f; --band: rgba(245, 159, 0, 0.18);
  --up: #2b8a3e; --down: #c92a2a; --m0: #1f5fbf; --m1: #2b8a3e; --m2: #c2410c; --m3: #6b46c1; --mark: #868e96; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #111418; --fg: #e4e7eb; --muted: #9aa4b0; --panel: #1a1f25; --border: #2f3640; --grid: #242a31;
    --raw: #3d5a80; --smooth: #74a9ff; --eval: #ff9f5a; --lr: #b197fc; --before: #8b939e; --after: #ff8a4c; --band: rgba(250, 176, 5, 0.16);
    --up: #69db7c; --down: #ff8787; --m0: #74a9ff; --m1: #69db7c; --m2: #ff9f5a; --m3: #b197fc; --mark: #6c757d; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
h2 { font-size: 20px; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--border); }
h3 { font-size: 16px; margin: 22px 0 8px; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.lead { margin: 0; color: var(--muted); }
.error { color: var(--down); font-weight: 600; }
.note { color: var(--muted); font-size: 13px; }
.status { font-size: 13px; font-weight: 600; padding: 2px 10px; border-radius: 999px; border: 1px solid currentColor; }
.status-finished { color: var(--up); } .status-cancelled, .status-interrupted { color: var(--eval); } .status-failed { color: var(--down); } .status-queued, .status-running, .status-paused { color: var(--smooth); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; margin-top: 20px; }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 10px 12px; }
.card-name { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
.card-value { font-size: 16px; font-weight: 600; overflow-wrap: anywhere; }
.table { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--border); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 13px; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.primary td { font-weight: 600; }
td.up { color: var(--up); } td.down { color: var(--down); }
.hash { font-size: 11px; }
.labels { columns: 3 180px; margin: 0; padding-left: 2.5em; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 14px; }
figure { margin: 0; background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 10px; min-width: 0; }
figure.wide { margin-top: 12px; }
figcaption { font-weight: 600; font-size: 13px; margin-bottom: 4px; overflow-wrap: anywhere; }
details { margin-top: 14px; } summary { cursor: pointer; font-weight: 600; margin-bottom: 10px; }
.chart { display: block; width: 100%; height: auto; }
.chart text { fill: var(--muted); font-size: 12px; font-family: system-ui, sans-serif; }
.chart .axis { font-size: 12.5px; }
.chart.bars { max-width: 760px; } .chart .empty { text-anchor: middle; }
.frame { fill: none; stroke: var(--border); }
.gridline { stroke: var(--grid); stroke-width: 1; }
.band { fill: var(--band); }
.mark { stroke: var(--mark); stroke-dasharray: 4 3; }
.line { fill: none; stroke: currentColor; stroke-width: 1.4; stroke-linejoin: round; }
.line.bold { stroke-width: 2.2; } .line.dashed { stroke-dasharray: 5 3; }
.dot { fill: currentColor; } .bar { fill: currentColor; }
.c-raw { color: var(--raw); } .c-smooth { color: var(--smooth); } .c-eval { color: var(--eval); } .c-lr { color: var(--lr); }
.c-before { color: var(--before); } .c-after { color: var(--after); } .c-up { color: var(--up); } .c-down { color: var(--down); }
.c-m0 { color: var(--m0); } .c-m1 { color: var(--m1); } .c-m2 { color: var(--m2); } .c-m3 { color: var(--m3); }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; margin-top: 4px; }
.key { display: inline-flex; align-items: center; gap: 6px; }
.key::before { content: ""; width: 16px; height: 0; border-top: 3px solid currentColor; }
.key.dashed::before { border-top-style: dashed; }
.legend .key { color: var(--fg); }
.legend .c-raw::before { border-color: var(--raw); } .legend .c-smooth::before { border-color: var(--smooth); } .legend .c-eval::before { border-color: var(--eval); }
.legend .c-lr::before { border-color: var(--lr); } .legend .c-before::before { border-color: var(--before); } .legend .c-after::before { border-color: var(--after); }
.legend .c-m0::before { border-color: var(--m0); } .legend .c-m1::before { border-color: var(--m1); } .legend .c-m2::before { border-color: var(--m2); } .legend .c-m3::before { border-color: var(--m3); }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
`
