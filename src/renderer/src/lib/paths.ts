/**
 * Joining paths the back end will read, without node:path: the separator of the folder given (a
 * Windows runs folder uses backslashes), no doubled separators.
 */
export function joinPath(folder: string, ...parts: string[]): string {
  const separator = folder.includes('\\') && !folder.includes('/') ? '\\' : '/'
  let joined = folder.replace(/[\\/]+$/, '')
  for (const part of parts) joined += separator + part.replace(/^[\\/]+|[\\/]+$/g, '')
  return joined
}

/** The longest path the API accepts (src/shared/api.ts). */
const maxPathLength = 4096

/**
 * The local path of a file: URL (file:///home/me/model, file:///C:/models/bert, file://server/share/x),
 * percent-escapes decoded; undefined for any other URL or a malformed one.
 */
export function pathFromFileUrl(url: string): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  if (parsed.protocol !== 'file:') return undefined
  let path: string
  try {
    path = decodeURIComponent(parsed.pathname)
  } catch {
    return undefined
  }
  if (parsed.hostname && parsed.hostname !== 'localhost') return `//${parsed.hostname}${path}`
  // file:///C:/x has the pathname /C:/x: a Windows path has no slash before its drive.
  return /^\/[A-Za-z]:([\\/]|$)/.test(path) ? path.slice(1) : path
}

/**
 * The path in dropped text: one line, a plain path or a file: URL, without the quotes a "copy as path"
 * puts around it. Undefined for anything else (several lines, a web address, control characters); the
 * back end still decides whether the path exists and is something it can open.
 */
export function pathFromText(text: string): string | undefined {
  let line = text.trim()
  if (line === '' || line.length > maxPathLength || /\p{Cc}/u.test(line)) return undefined
  const quoted = /^(["'])(.*)\1$/.exec(line)
  if (quoted) line = quoted[2]!.trim()
  if (line === '') return undefined
  if (/^file:/i.test(line)) return pathFromFileUrl(line)
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(line)) return undefined
  return line
}

/** The path in a text/uri-list (RFC 2483: one URI a line, # for comments): its first entry, when a file: URL. */
export function pathFromUriList(list: string): string | undefined {
  const first = list
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('#'))
  return first && /^file:/i.test(first) ? pathFromFileUrl(first) : undefined
}
