/** Saving a chart's picture or data: a link with `download`, which browsers and Electron both honour. */

export function downloadUrl(filename: string, url: string): void {
  const link = document.createElement('a')
  link.href = url
  link.download = filename
  link.rel = 'noopener'
  document.body.append(link)
  link.click()
  link.remove()
}

export function downloadText(filename: string, text: string, type = 'text/csv;charset=utf-8'): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  try {
    downloadUrl(filename, url)
  } finally {
    // The click has started the download by now; the object URL is not needed after it.
    setTimeout(() => URL.revokeObjectURL(url), 0)
  }
}

/** A file name from a run id and a chart's name: letters, digits, dot, dash and underscore only. */
export function chartFileName(...parts: (string | undefined)[]): string {
  return parts
    .filter((p): p is string => p !== undefined && p !== '')
    .map((p) => p.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, ''))
    .filter((p) => p !== '')
    .join('-')
}
