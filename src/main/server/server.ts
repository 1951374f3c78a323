import { randomBytes, timingSafeEqual } from 'node:crypto'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, sep } from 'node:path'
import { WebSocketServer, type WebSocket } from 'ws'
import type { ServerMessage } from '../../shared/api'
import type { SivaBackend } from '../services/backend'
import { Connection } from '../services/connection'

/**
 * `siva serve`: the built renderer over HTTP and the API over a WebSocket at /api, for a machine without a
 * screen. Every request needs the token printed in the URL (like Jupyter): as `?token=` on the first page,
 * then as an HttpOnly cookie the server sets, so a page or a socket from another site gets nothing.
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

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2'
}

const cookieName = 'siva_token'

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  if (!existsSync(join(options.rendererDir, 'index.html'))) throw new Error(`${options.rendererDir}: no built renderer (index.html); run 'npm run build' first`)
  const token = options.token ?? randomBytes(24).toString('hex')
  const tokenBytes = Buffer.from(token)
  const authorised = (request: IncomingMessage): 'query' | 'cookie' | undefined => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const matches = (value: string | null | undefined): boolean => {
      if (!value) return false
      const given = Buffer.from(value)
      return given.length === tokenBytes.length && timingSafeEqual(given, tokenBytes)
    }
    if (matches(url.searchParams.get('token'))) return 'query'
    const cookie = (request.headers.cookie ?? '').split(';').map((c) => c.trim()).find((c) => c.startsWith(`${cookieName}=`))
    return matches(cookie?.slice(cookieName.length + 1)) ? 'cookie' : undefined
  }

  const server = createServer((request, response) => {
    const how = authorised(request)
    if (!how) return refuse(response, 401, 'SiVA Studio: open the address with its token, as `siva serve` printed it.')
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(response, 405, 'method not allowed')
    if (how === 'query') response.setHeader('Set-Cookie', `${cookieName}=${token}; HttpOnly; SameSite=Strict; Path=/`)
    serveFile(options.rendererDir, new URL(request.url ?? '/', 'http://localhost').pathname, response)
  })

  const sockets = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 })
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    // A page from another origin cannot open our socket even with the cookie: its Origin differs.
    const origin = request.headers.origin
    const sameOrigin = origin === undefined || new URL(origin).host === request.headers.host
    if (url.pathname !== '/api' || !authorised(request) || !sameOrigin) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n')
      socket.destroy()
      return
    }
    sockets.handleUpgrade(request, socket, head, (ws) => attach(ws, options.backend))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}/?token=${token}`,
    token,
    server,
    close: async () => {
      for (const client of sockets.clients) client.terminate()
      await new Promise<void>((resolve) => sockets.close(() => resolve()))
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

function attach(ws: WebSocket, backend: SivaBackend): void {
  const connection = new Connection(backend, (message: ServerMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message))
  })
  ws.on('message', (data) => {
    let parsed: unknown
    try {
      parsed = JSON.parse(data.toString())
    } catch {
      ws.send(JSON.stringify({ type: 'error', id: -1, message: 'malformed message: not JSON' }))
      return
    }
    connection.handle(parsed)
  })
  ws.on('close', () => connection.close())
}

function refuse(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' })
  response.end(`${text}\n`)
}

/** A file of the built renderer; anything outside it, or missing, is a 404 (the app is one page). */
function serveFile(root: string, pathname: string, response: ServerResponse): void {
  const relative = normalize(decodeURIComponent(pathname === '/' ? '/index.html' : pathname)).replace(/^([/\\])+/, '')
  const file = join(root, relative)
  if (!file.startsWith(root.endsWith(sep) ? root : `${root}${sep}`) || !existsSync(file) || !statSync(file).isFile()) return refuse(response, 404, 'not found')
  response.writeHead(200, {
    'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
  })
  createReadStream(file).pipe(response)
}

/** Whether `host` keeps the server on this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}
