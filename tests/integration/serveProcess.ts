import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { repoRoot } from '../helpers/paths'

/**
 * `siva serve` as a child process, and the raw-socket tools the hardening tests speak to it with: bytes on
 * a TCP socket, because `fetch` and the `ws` client normalise paths, fill in headers and never send a
 * malformed frame.
 */
export interface ServeProcess {
  child: ChildProcess
  url: URL
  port: number
  token: string
  /** Everything the server wrote to stderr, for failure messages (an uncaught exception's stack lands here). */
  stderr(): string
  alive(): boolean
  stop(): void
}

export async function startServe(root: string, renderer: string, extra: string[] = []): Promise<ServeProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'serve', '--port', '0', '--runs-dir', join(root, 'runs'), '--svd-cache', join(root, 'cache'), '--renderer', renderer, '--quiet', ...extra], {
    cwd: repoRoot,
    env: { ...process.env, SIVA_GEMM_THREADS: '1' }
  })
  let err = ''
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()))
  const printed = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /serving at (\S+)/.exec(out)
      if (match) resolve(match[1]!)
    })
    child.on('exit', (code) => reject(new Error(`siva serve exited with ${code}: ${err}`)))
  })
  const url = new URL(printed)
  return {
    child,
    url,
    port: Number(url.port),
    token: url.searchParams.get('token')!,
    stderr: () => err,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: () => void child.kill('SIGTERM')
  }
}

export interface Exchange {
  data: Buffer
  /** The server closed the connection (or reset it) before the deadline. */
  closed: boolean
}

/**
 * Sends `bytes` on a fresh connection and collects what comes back until the server closes or `timeoutMs`
 * passes. A request the server is still waiting on after `halfCloseAfterMs` (an incomplete one) is ended
 * from this side then, so the parser sees its end; sooner would abort a complete request (Node's server
 * ends a half-closed connection without waiting for a reply still being made).
 */
export function exchange(port: number, bytes: Buffer | string, { timeoutMs = 4000, halfCloseAfterMs = 1000 } = {}): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    let done = false
    const finish = (closed: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      clearTimeout(halfClose)
      socket.destroy()
      resolve({ data: Buffer.concat(chunks), closed })
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    const halfClose = setTimeout(() => chunks.length === 0 && socket.end(), halfCloseAfterMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', () => finish(true))
    socket.on('close', () => finish(true))
    socket.on('connect', () => socket.write(bytes))
  })
}

/** The status code of the first response in `data`, if it starts with a well-formed HTTP/1.1 status line. */
export function statusOf(data: Buffer): number | undefined {
  const match = /^HTTP\/1\.1 ([1-5]\d\d) [^\r\n]*\r\n/.exec(data.toString('latin1'))
  return match ? Number(match[1]) : undefined
}

/** The value of `name` in the first response's headers. */
export function headerOf(data: Buffer, name: string): string | undefined {
  const head = data.toString('latin1').split('\r\n\r\n')[0] ?? ''
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
  return line?.slice(name.length + 1).trim()
}

export function request(port: number, target: string, headers: Record<string, string> = {}, method = 'GET'): string {
  const all = { Host: `127.0.0.1:${port}`, Connection: 'close', ...headers }
  return `${method} ${target} HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`
}

export function upgradeRequest(port: number, target: string, headers: Record<string, string> = {}): string {
  return request(port, target, { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), ...headers })
}

/** Whether the server still serves: the page with the token is a 200 on a new connection. */
export async function serves(server: ServeProcess): Promise<boolean> {
  const reply = await exchange(server.port, request(server.port, `/?token=${server.token}`))
  return server.alive() && statusOf(reply.data) === 200
}

export interface Frame {
  fin?: boolean
  rsv?: number
  opcode: number
  payload: Buffer
  /** The mask key (a client must mask); `null` sends the frame unmasked. */
  mask?: Buffer | null
  /** A length to declare other than the payload's own (a frame that claims more than it carries). */
  declaredLength?: number
}

/** One WebSocket frame as bytes (RFC 6455 §5.2). */
export function encodeFrame(frame: Frame): Buffer {
  const length = frame.declaredLength ?? frame.payload.length
  const mask = frame.mask === undefined ? randomBytes(4) : frame.mask
  const first = ((frame.fin ?? true) ? 0x80 : 0) | (((frame.rsv ?? 0) & 7) << 4) | (frame.opcode & 0x0f)
  let head: Buffer
  if (length < 126) head = Buffer.from([first, length])
  else if (length < 65536) {
    head = Buffer.alloc(4)
    head.writeUInt16BE(length, 2)
    head[1] = 126
  } else {
    head = Buffer.alloc(10)
    head.writeBigUInt64BE(BigInt(length), 2)
    head[1] = 127
  }
  head[0] = first
  if (mask) head[1]! |= 0x80
  const payload = Buffer.from(frame.payload)
  if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!
  return Buffer.concat([head, ...(mask ? [mask] : []), payload])
}

export interface ServerFrame {
  opcode: number
  payload: Buffer
}

/** The frames a server sent (unmasked, as a server must); what follows a truncated frame is ignored. Throws on a masked frame. */
export function decodeFrames(data: Buffer): ServerFrame[] {
  const frames: ServerFrame[] = []
  let at = 0
  while (at + 2 <= data.length) {
    const opcode = data[at]! & 0x0f
    if (data[at + 1]! & 0x80) throw new Error('the server sent a masked frame')
    let length = data[at + 1]! & 0x7f
    let start = at + 2
    if (length === 126) {
      if (start + 2 > data.length) break
      length = data.readUInt16BE(start)
      start += 2
    } else if (length === 127) {
      if (start + 8 > data.length) break
      length = Number(data.readBigUInt64BE(start))
      start += 8
    }
    if (start + length > data.length) break
    frames.push({ opcode, payload: data.subarray(start, start + length) })
    at = start + length
  }
  return frames
}

/** The close code of the first close frame the server sent, if any. */
export function closeCodeOf(frames: ServerFrame[]): number | undefined {
  const close = frames.find((f) => f.opcode === 8)
  return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : undefined
}

/** An open WebSocket on a raw socket, after a successful handshake with the token. */
export function openSocket(port: number, token: string): Promise<{ socket: Socket; received: () => Buffer; closed: () => Promise<boolean> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    let buffer = Buffer.alloc(0)
    let open = false
    let isClosed = false
    const waiting: ((closed: boolean) => void)[] = []
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      if (open) return
      const end = buffer.indexOf('\r\n\r\n')
      if (end < 0) return
      if (statusOf(buffer) !== 101) return reject(new Error(`handshake refused: ${buffer.toString('latin1').split('\r\n')[0]}`))
      open = true
      buffer = buffer.subarray(end + 4)
      resolve({
        socket,
        received: () => buffer,
        // Resolves true once the server has closed the connection, false if it is still open after 3 s.
        closed: () =>
          isClosed
            ? Promise.resolve(true)
            : new Promise((done) => {
                const timer = setTimeout(() => done(false), 3000)
                waiting.push((value) => {
                  clearTimeout(timer)
                  done(value)
                })
              })
      })
    })
    const onClose = (): void => {
      isClosed = true
      for (const done of waiting.splice(0)) done(true)
      if (!open) reject(new Error('closed during the handshake'))
    }
    socket.on('error', onClose)
    socket.on('close', onClose)
    socket.on('connect', () => socket.write(upgradeRequest(port, `/api?token=${token}`)))
  })
}
