/**
 * A request-target read without `new URL(target, base)`, which throws on `http://[` and reads `//evil/x` as
 * a host. Origin-form (`/path?query`) is split by hand; absolute-form (`http://host/path`, which a server must
 * accept) is parsed, and its authority is returned so that it can be checked like a Host header.
 * `undefined` for anything else (a refusal with 400).
 */
export interface RequestTarget {
  /** The path as sent, still percent-encoded. */
  rawPath: string
  query: URLSearchParams
  /** The authority of an absolute-form target. */
  authority?: string
}

export function parseRequestTarget(target: string | undefined): RequestTarget | undefined {
  if (target === undefined || target.length === 0) return undefined
  if (target.startsWith('/')) {
    const cut = target.search(/[?#]/)
    const rawPath = cut < 0 ? target : target.slice(0, cut)
    const rest = cut < 0 ? '' : target.slice(cut)
    const query = rest.startsWith('?') ? rest.slice(1).split('#')[0]! : ''
    return { rawPath, query: new URLSearchParams(query) }
  }
  if (!/^https?:\/\//i.test(target)) return undefined
  let url: URL
  try {
    url = new URL(target)
  } catch {
    return undefined
  }
  return { rawPath: url.pathname, query: url.searchParams, authority: url.host }
}

/**
 * The path's percent-escapes decoded, or `undefined` where that is impossible or unsafe: a malformed escape
 * (`%c0%ae`, `%`) or a NUL, which the file system would refuse with an exception.
 */
export function decodePath(rawPath: string): string | undefined {
  let decoded: string
  try {
    decoded = decodeURIComponent(rawPath)
  } catch {
    return undefined
  }
  return decoded.includes('\0') ? undefined : decoded
}
