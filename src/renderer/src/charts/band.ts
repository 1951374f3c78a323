/**
 * The trained band's one colour, wherever a spectrum is drawn (the ECharts charts, the table's
 * sparklines, the small multiples): amber, apart from the blue and green of the lines in both themes.
 */
const bandRgb = '245, 158, 11'

/** The band's fill at `alpha`: a strong shade for the trained band, a faint one for a band not chosen. */
export function bandColor(alpha: number = bandAlpha.trained): string {
  return `rgba(${bandRgb}, ${alpha})`
}

export const bandAlpha = { trained: 0.24, faint: 0.09 } as const
