/**
 * A rendered conversation cut into the pieces the Data step shows: the text the model is taught (assistant
 * turns with their end-of-turn token, `spans` as [start, end) character ranges from the back end) and the
 * rest. Spans out of order, overlapping or past the text are clipped, never trusted to be tidy.
 */
export interface ChatSegment {
  text: string
  taught: boolean
}

export function chatSegments(text: string, spans: readonly (readonly [number, number])[]): ChatSegment[] {
  const segments: ChatSegment[] = []
  let at = 0
  const sorted = [...spans].sort((a, b) => a[0] - b[0])
  for (const [rawStart, rawEnd] of sorted) {
    const start = Math.max(at, Math.min(text.length, rawStart))
    const end = Math.max(start, Math.min(text.length, rawEnd))
    if (start > at) segments.push({ text: text.slice(at, start), taught: false })
    if (end > start) segments.push({ text: text.slice(start, end), taught: true })
    at = Math.max(at, end)
  }
  if (at < text.length) segments.push({ text: text.slice(at), taught: false })
  return segments
}
