import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { join, resolve } from 'node:path'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { SivaBackend } from '../services/backend'
import { attachApiSocket, maxMessageBytes } from './apiSocket'
import { credentialsFor, type Credentials } from './credentials'
import { acceptedHosts, hostAccepted, type AcceptedHosts } from './hosts'
import { decodePath, parseRequestTarget, type RequestTarget } from './requestTarget'
import { fileInRoot, serveFile } from './staticFiles'

export { isLoopback } from './hosts'

/**
 * `siva serve`: the built renderer over HTTP and the API over a WebSocket at /api, for a machine without a
 * screen. The rule: nothing a client sends may end the process. Each request is checked in this order, and
 * the first failure is its answer:
 *
 *   request-target not a path or an http(s) URL → 400 · no Host → 400 · Host (or the target's authority)
 *   not this server → 421 · no token (pages also take the page cookie; the API only the token) → 401 · a
 *   method other than GET or HEAD → 405 (with Allow) · a malformed percent-escape or a NUL in the path → 400
 *   · outside the renderer, missing or not a file → 404 · not permitted → 403 · a read that fails → 500 (or
 *   the connection cut, if the body had begun).
 *   Upgrades: the same 400 and 421, then a path other than /api → 404, an Origin that is not this page's
 *   → 403, no token → 401. What the HTTP parser refuses gets 400 (431: headers too large; 408: too slow).
 *
 * 421 Misdirected Request, not 403, for a foreign Host: the request is fine, it is only addressed to a name
 * that is not this server (what DNS rebinding produces), and 421 says exactly that.
 */
export interface ServeOptions {
  host: string
  port: number
  rendererDir: string
  backend: SivaBackend
  token?: string
}

export interface RunningServer {
  url: string
  token: string
  server: Server
  close(): Promise<void>
}

type Refusal = { status: number; text: string }

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const rendererDir = resolve(options.rendererDir)
  if (!existsSync(join(rendererDir, 'index.html'))) throw new Error(`${rendererDir}: no built renderer (index.html); run 'npm run build' first`)
  const token = options.token ?? randomBytes(24).toString('hex')
  // The Host names and the cookie's name hold the port, known once listening (port 0 picks one); until then nothing is accepted.
  let accepted: AcceptedHosts = new Set()
  let credentials: Credentials = credentialsFor(token, -1)

  /** The checks pages and upgrades share: a readable target, addressed to this server. */
  const check = (request: IncomingMessage): RequestTarget | Refusal => {
    const target = parseRequestTarget(request.url)
    if (!target) return { status: 400, text: 'bad request-target' }
    if (request.headers.host === undefined && accepted !== 'any') return { status: 400, text: 'a Host header is required' }
    if (!hostAccepted(request.headers.host, accepted) || (target.authority !== undefined && !hostAccepted(target.authority, accepted))) {
      return { status: 421, text: 'this server does not answer to that host name' }
    }
    return target
  }

  const server = createServer((request, response) => {
    response.on('error', () => response.destroy())
    const refuse = (status: number, text: string): void => {
      if (response.headersSent) return void response.destroy()
      response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...(status === 405 && { Allow: 'GET, HEAD' }) })
      response.end(`${text}\n`)
    }
    const target = check(request)
    if ('status' in target) return refuse(target.status, target.text)
    const byToken = credentials.tokenMatches(target.query.get('token'))
    if (!byToken && !credentials.pageCookieIn(request)) return refuse(401, 'SiVA Studio: open the address with its token, as `siva serve` printed it.')
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(405, 'method not allowed')
    const path = decodePath(target.rawPath)
    if (path === undefined) return refuse(400, 'malformed percent-escape in the path')
    const file = fileInRoot(rendererDir, path)
    if (!file) return refuse(404, 'not found')
    if (byToken) response.setHeader('Set-Cookie', credentials.setCookie)
    serveFile(file, request.method, response, refuse).catch(() => refuse(500, 'cannot read the file'))
  })
  // Slow clients get a deadline (Node's defaults wait minutes for headers that trickle in a byte at a time).
  server.headersTimeout = 15_000
  server.requestTimeout = 30_000
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const code = error.code ?? ''
    const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
    // Only a parse error or a timeout gets an answer; a reset or a write error has no one to answer to.
    if (socket.writable && (code.startsWith('HPE_') || status === 408)) rejectSocket(socket, status)
    else socket.destroy()
  })

  const sockets = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes })
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands the socket over without its own error handler: a reset here must not be an uncaught 'error'.
    socket.on('error', () => socket.destroy())
    const target = check(request)
    if ('status' in target) return rejectSocket(socket, target.status)
    if (target.rawPath !== '/api') return rejectSocket(socket, 404)
    // A page from another origin cannot use our socket even with the token: its Origin differs.
    if (!sameOrigin(request.headers.origin, request.headers.host)) return rejectSocket(socket, 403)
    if (!credentials.tokenMatches(target.query.get('token'))) return rejectSocket(socket, 401)
    sockets.handleUpgrade(request, socket, head, (ws) => attachApiSocket(ws, options.backend))
  })

  await new Promise<void>((done, fail) => {
    server.once('error', fail)
    server.listen(options.port, options.host, () => {
      server.off('error', fail)
      done()
    })
  })
  // Once listening, an error of the listening socket (EMFILE on accept, say) is reported, not thrown: an
  // 'error' event without a listener would end the process.
  server.on('error', (error) => process.stderr.write(`siva serve: ${error.message}\n`))
  const address = server.address() as AddressInfo
  // The names for the address as given (a name, localhost) and for the address it resolved to.
  const given = acceptedHosts(options.host, address.port)
  const resolved = acceptedHosts(address.address, address.port)
  accepted = given === 'any' || resolved === 'any' ? 'any' : new Set([...given, ...resolved])
  credentials = credentialsFor(token, address.port)
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}/?token=${token}`,
    token,
    server,
    close: async () => {
      for (const client of sockets.clients) client.terminate()
      await new Promise<void>((done) => sockets.close(() => done()))
      await new Promise<void>((done) => server.close(() => done()))
    }
  }
}

/**
 * An upgrade's Origin names the same host as its Host header (already checked to be this server), or is
 * absent (a client that is not a browser, which needs the token like anyone). `null` (a sandboxed frame, a
 * file: page) or anything unreadable is a foreign origin.
 */
function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true
  try {
    const url = new URL(origin)
    return (url.protocol === 'http:' || url.protocol === 'https:') && host !== undefined && url.host === host.toLowerCase()
  } catch {
    return false
  }
}

/** A refusal written straight to a socket that has no response object (an upgrade, a parse error), then closed. */
function rejectSocket(socket: Duplex, status: number): void {
  const text = `${STATUS_CODES[status] ?? 'Error'}\n`
  const reply = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`
  // end, not write + destroy: destroy can drop what is still queued. The socket is destroyed once it is written.
  ;(socket as Socket).end(reply, () => socket.destroy())
}
