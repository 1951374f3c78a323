import { isIPv4, isIPv6 } from 'node:net'

/**
 * Which `Host` headers name this server. A page on evil.example whose DNS name is re-pointed at 127.0.0.1
 * (DNS rebinding) reaches the server as its own origin, so the browser sends `Host: evil.example:<port>`:
 * refusing every name that is not ours stops it before the token is even looked at.
 *
 * `'any'` when bound to every interface (0.0.0.0, ::): the server cannot know the names other machines reach
 * it by (a hostname, a LAN address, a tunnel's name), so it accepts any Host there and relies on the token,
 * which a rebound page does not have (and the page cookie, which does not open the API).
 */
export type AcceptedHosts = ReadonlySet<string> | 'any'

export function acceptedHosts(boundHost: string, port: number): AcceptedHosts {
  const host = bare(boundHost)
  if (host === '' || host === '0.0.0.0' || host === '::') return 'any'
  const names = new Set([host])
  if (isLoopback(host)) for (const name of ['localhost', '127.0.0.1', '::1']) names.add(name)
  const accepted = new Set<string>()
  for (const name of names) {
    const authority = isIPv6(name) ? `[${name}]` : name
    accepted.add(`${authority}:${port}`)
    // A browser leaves the default port out of Host.
    if (port === 80) accepted.add(authority)
  }
  return accepted
}

/** Whether a `Host` header (or an absolute request-target's authority) names this server; names compare case-insensitively. */
export function hostAccepted(host: string | undefined, accepted: AcceptedHosts): boolean {
  if (accepted === 'any') return true
  return host !== undefined && accepted.has(host.toLowerCase())
}

/** Whether `host` keeps the server on this machine. Only an address literal counts: `127.example.com` is a name like any other. */
export function isLoopback(host: string): boolean {
  const name = bare(host)
  if (name === 'localhost' || name === '::1') return true
  if (isIPv4(name)) return name.startsWith('127.')
  return name.startsWith('::ffff:') && isIPv4(name.slice(7)) && name.slice(7).startsWith('127.')
}

function bare(host: string): string {
  const name = host.toLowerCase()
  return name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name
}
