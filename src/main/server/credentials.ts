import { createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/**
 * What proves a request comes from the person `siva serve` printed its address to.
 *
 * - The **token** (printed in the address) opens everything. The page keeps it in its own sessionStorage,
 *   which only this origin (scheme, host *and port*) can read, and the WebSocket carries it as `?token=`.
 * - The **page cookie** opens only the pages: the renderer's files, the same for everyone. Cookies ignore
 *   ports, so a browser sends it to every server on 127.0.0.1; a neighbour on another port that collects it
 *   gains nothing, because it is not the token, it cannot be turned back into it (an HMAC of the token) and
 *   the API never accepts it. Its name carries the port, so that two servers on one host do not overwrite
 *   each other's, and a cookie under another port's name is ignored.
 */
export interface Credentials {
  token: string
  cookieName: string
  /** The `Set-Cookie` value for a page opened with the token. */
  setCookie: string
  tokenMatches(value: string | null | undefined): boolean
  /** The page cookie, under this server's name, with this server's value. */
  pageCookieIn(request: IncomingMessage): boolean
}

export function credentialsFor(token: string, port: number): Credentials {
  const tokenBytes = Buffer.from(token)
  const cookieName = `siva_page_${port}`
  const cookieValue = createHmac('sha256', token).update(`siva page cookie for port ${port}`).digest('hex')
  const cookieBytes = Buffer.from(cookieValue)
  const equal = (value: string | null | undefined, expected: Buffer): boolean => {
    if (!value) return false
    const given = Buffer.from(value)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
  return {
    token,
    cookieName,
    setCookie: `${cookieName}=${cookieValue}; HttpOnly; SameSite=Strict; Path=/`,
    tokenMatches: (value) => equal(value, tokenBytes),
    pageCookieIn: (request) =>
      (request.headers.cookie ?? '').split(';').some((pair) => {
        const at = pair.indexOf('=')
        return at > 0 && pair.slice(0, at).trim() === cookieName && equal(pair.slice(at + 1).trim(), cookieBytes)
      })
  }
}
