import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/paths'
import { closeCodeOf, decodeFrames, encodeFrame, exchange, openSocket, serves, startServe, statusOf, type Frame, type ServeProcess } from './serveProcess'

/**
 * A bounded, seeded fuzz of `siva serve`'s request and frame parsing, from outside, over raw sockets against
 * one server process: request lines, headers, percent-escapes and upgrade headers built from hostile pieces
 * and then mutated byte by byte; WebSocket sessions of random frames (opcodes, lengths, masks, fragments,
 * invalid UTF-8, oversize). Every answer must be a well-formed status line or a close, every close code one
 * of the documented ones, and at the end the same process must still serve a page and a call.
 * SIVA_FUZZ_SEED=N replays another sequence; a failure names its seed and case.
 */
const seed = Number(process.env['SIVA_FUZZ_SEED'] ?? 20261201)
const httpCases = 300
const socketCases = 150
/** Each phase stops early at this many milliseconds (slow machines run fewer cases, never longer). */
const phaseBudgetMs = 12_000
/** The server's own close codes; besides them it echoes a client's valid close code (1001, 3000-4999), as RFC 6455 §5.5.1 asks. */
const closeCodes = new Set([1000, 1001, 1002, 1003, 1007, 1008, 1009])
const closeCodeAllowed = (code: number): boolean => closeCodes.has(code) || (code >= 3000 && code <= 4999)

let server: ServeProcess

beforeAll(async () => {
  const root = tempDir('serve-fuzz')
  const renderer = join(root, 'renderer')
  mkdirSync(join(renderer, 'assets'), { recursive: true })
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>SiVA Studio</title>')
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)\n')
  server = await startServe(root, renderer)
}, 60_000)

afterAll(() => server?.stop())

/** mulberry32: small, fast, and the same sequence on every machine for a given seed. */
function generator(start: number): { int(n: number): number; pick<T>(items: readonly T[]): T; chance(p: number): boolean; bytes(n: number): Buffer } {
  let state = start >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return {
    int,
    pick: (items) => items[int(items.length)]!,
    chance: (p) => next() < p,
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(256)))
  }
}

type Random = ReturnType<typeof generator>

function httpRequest(random: Random, port: number, token: string): Buffer {
  const host = `127.0.0.1:${port}`
  const method = random.pick(['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'OPTIONS', 'DELETE', 'CONNECT', 'G\u0000T', 'get', 'PRI', ''])
  const path = random.chance(0.4) ? random.pick(['/', '/index.html', '/assets/app.js', '/assets/', '/assets/app.js%00']) : random.pick(['/api', '/%c0%ae', '/%', '/%zz', '/%00', '/a%2f..%2f..%2fetc%2fpasswd', '/..%5c..%5c', '/../../etc/passwd', '//evil.example/x', 'http://[', 'http://[::1', `http://${host}/`, 'http://evil.example/', 'https://localhost:1/', '*', '', '/\u00e9\u00ff', `/${'a'.repeat(random.int(9000))}`, '/?#', '/#frag'])
  const query = random.chance(0.5) ? `?token=${token}` : random.pick(['', '?token=', `?token=${token}x`, `?token=${token}&token=x`, '?token=%', '?%%%', `?a=${'%'.repeat(random.int(50))}`])
  const version = random.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1x', 'http/1.1', ''])
  const headers: string[] = []
  const add = (p: number, ...lines: string[]): void => void (random.chance(p) && headers.push(...lines))
  add(0.9, `Host: ${random.chance(0.6) ? host : random.pick([`localhost:${port}`, `[::1]:${port}`, 'evil.example', `evil.example:${port}`, '', '[', `${host}, evil.example`, '\u00ff\u00fe'])}`)
  add(0.1, `Host: ${random.pick([host, 'other'])}`)
  add(0.5, `Connection: ${random.pick(['close', 'close', 'keep-alive', 'Upgrade', 'upgrade, close', ''])}`)
  const upgrade = random.chance(0.35)
  if (upgrade) {
    add(0.9, `Upgrade: ${random.pick(['websocket', 'websocket', 'WebSocket', 'h2c', 'websocket, h2c', ''])}`)
    add(0.8, `Sec-WebSocket-Version: ${random.pick(['13', '13', '8', '', 'x'])}`)
    add(0.8, `Sec-WebSocket-Key: ${random.pick([random.bytes(16).toString('base64'), random.bytes(random.int(40)).toString('base64'), '', '!!!'])}`)
    add(0.5, `Origin: ${random.pick(['null', `http://${host}`, 'http://evil.example', 'http://[', 'file://', '', 'http://' + 'x'.repeat(300)])}`)
    add(0.2, `Sec-WebSocket-Extensions: ${random.pick(['permessage-deflate', 'permessage-deflate; client_max_window_bits=99', '\u0000'])}`)
  }
  add(0.3, `Cookie: ${random.pick([`siva_page_${port}=${'0'.repeat(64)}`, `siva_page_${port + 1}=x`, `siva_token=${token}`, ';;;=;', `a=${'b'.repeat(random.int(4000))}`])}`)
  add(0.08, `Content-Length: ${random.pick(['0', '5', '-1', '99999999999999999999', '3, 4', 'x'])}`)
  add(0.05, 'Transfer-Encoding: chunked')
  add(0.05, random.pick(['NoColon', ': empty name', 'Bad Name: x', 'X-Fold: a\r\n  folded', `X-Long: ${'y'.repeat(random.int(20000))}`, 'X-Nul: a\u0000b', 'X-Bytes: \u0080\u00ff']))
  const eol = random.chance(0.9) ? '\r\n' : random.pick(['\n', '\r'])
  let text = `${method} ${path}${query} ${version}${eol}${headers.join(eol)}${headers.length ? eol : ''}${eol}`
  if (random.chance(0.1)) text += random.pick(['hello', '5\r\nhello\r\n0\r\n\r\n', 'zz\r\n', `GET / HTTP/1.1${eol}${eol}`])
  let bytes = Buffer.from(text, 'latin1')
  // Byte-level damage on top of the structured pieces: flips, insertions, a cut.
  const damage = random.chance(0.3) ? 1 + random.int(3) : 0
  for (let i = 0; i < damage && bytes.length > 0; i++) {
    const at = random.int(bytes.length)
    const kind = random.int(3)
    if (kind === 0) bytes[at] = random.int(256)
    else if (kind === 1) bytes = Buffer.concat([bytes.subarray(0, at), random.bytes(1 + random.int(8)), bytes.subarray(at)])
    else if (random.chance(0.3)) bytes = bytes.subarray(0, at)
  }
  return bytes
}

function socketFrames(random: Random): Buffer[] {
  const messages = [
    '{"type":"call","id":1,"method":"appInfo","params":{}}',
    '{"type":"call","id":2,"method":"listRuns","params":{}}',
    '{"type":"stream","id":3,"method":"runEvents","params":{"runId":"../x"}}',
    '{"type":"close","id":3}',
    '{"type":"call","id":4,"method":"__proto__","params":{}}',
    '{"type":"call","id":5,"method":"nope"}',
    '{"type":"call","id":1e400}',
    '{"type":',
    '[]',
    'null',
    '"\\ud800"'
  ]
  const invalidUtf8 = [Buffer.from([0xc0, 0xae]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xff]), Buffer.from([0xe2, 0x82])]
  const frames: Buffer[] = []
  const count = 1 + random.int(6)
  for (let i = 0; i < count; i++) {
    const opcode = random.chance(0.6) ? 1 : random.pick([0, 2, 8, 9, 10, 3, 7, 11, 15])
    const payload = random.pick([
      () => Buffer.from(random.pick(messages)),
      () => Buffer.from(random.pick(messages)),
      () => Buffer.from(random.pick(messages)),
      () => random.bytes(random.int(300)),
      () => Buffer.concat([Buffer.from('{"a":"'), random.pick(invalidUtf8), Buffer.from('"}')]),
      () => Buffer.alloc(0),
      () => {
        const close = Buffer.alloc(2 + random.int(4))
        close.writeUInt16BE(random.pick([1000, 1001, 999, 1005, 1006, 1015, 3000, 4999, 5000, 65535]))
        return close
      },
      () => Buffer.from([random.int(256)])
    ])()
    const frame: Frame = {
      opcode,
      payload,
      fin: random.chance(0.9),
      rsv: random.chance(0.05) ? 1 + random.int(7) : 0,
      mask: random.chance(0.05) ? null : random.bytes(4),
      ...(random.chance(0.08) && { declaredLength: random.pick([2 ** 20 + 1, 2 ** 32, 2 ** 40, 2 ** 53 + 2]) })
    }
    const bytes = encodeFrame(frame)
    if (random.chance(0.05)) bytes[random.int(bytes.length)] = random.int(256)
    // Sometimes a frame arrives in pieces.
    if (random.chance(0.2) && bytes.length > 2) {
      const cut = 1 + random.int(bytes.length - 1)
      frames.push(bytes.subarray(0, cut), bytes.subarray(cut))
    } else frames.push(bytes)
  }
  return frames
}

/** Runs `cases` jobs, `width` at a time, until done or `budgetMs` has passed; returns how many ran. */
async function runBounded(cases: number, width: number, budgetMs: number, job: (index: number) => Promise<void>): Promise<number> {
  const deadline = Date.now() + budgetMs
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < cases && Date.now() < deadline) await job(next++)
  }
  await Promise.all(Array.from({ length: width }, lane))
  return next
}

describe(`siva serve under fuzzed requests and frames (seed ${seed})`, () => {
  it('answers every mutated request with a well-formed status or a close, and keeps serving', async () => {
    const random = generator(seed)
    const requests = Array.from({ length: httpCases }, () => httpRequest(random, server.port, server.token))
    const problems: string[] = []
    const ran = await runBounded(requests.length, 12, phaseBudgetMs, async (index) => {
      const sent = requests[index]!
      const reply = await exchange(server.port, sent, { timeoutMs: 2500, halfCloseAfterMs: 300 })
      const status = statusOf(reply.data)
      const fine = reply.data.length === 0 ? reply.closed : status !== undefined
      if (!fine) problems.push(`case ${index} (seed ${seed}): ${JSON.stringify(sent.toString('latin1').slice(0, 200))} got ${JSON.stringify(reply.data.toString('latin1').slice(0, 120))}${reply.closed ? '' : ' and no close'}`)
    })
    expect(problems).toEqual([])
    expect(ran).toBeGreaterThanOrEqual(50)
    expect(server.alive(), server.stderr()).toBe(true)
    expect(await serves(server)).toBe(true)
  }, 60_000)

  it('closes every fuzzed WebSocket session with a documented code (or answers it), and keeps serving', async () => {
    const random = generator(seed + 1)
    const sessions = Array.from({ length: socketCases }, () => socketFrames(random))
    const problems: string[] = []
    const ran = await runBounded(sessions.length, 8, phaseBudgetMs, async (index) => {
      const ws = await openSocket(server.port, server.token)
      for (const piece of sessions[index]!) if (!ws.socket.destroyed) ws.socket.write(piece)
      // Either the server closes (it must, for most sessions), or the session is still a valid one after a while.
      const closedAlone = await Promise.race([ws.closed(), new Promise<false>((done) => setTimeout(() => done(false), 400))])
      let frames
      try {
        frames = decodeFrames(ws.received())
      } catch (error) {
        problems.push(`session ${index} (seed ${seed + 1}): ${(error as Error).message}`)
        ws.socket.destroy()
        return
      }
      const code = closeCodeOf(frames)
      if (code !== undefined && !closeCodeAllowed(code)) problems.push(`session ${index} (seed ${seed + 1}): close code ${code}`)
      for (const frame of frames.filter((f) => f.opcode === 1)) {
        const message = JSON.parse(frame.payload.toString()) as { type?: string }
        if (!['result', 'error', 'event', 'end'].includes(message.type ?? '')) problems.push(`session ${index}: reply ${frame.payload.toString()}`)
      }
      if (!closedAlone) ws.socket.destroy()
    })
    expect(problems).toEqual([])
    expect(ran).toBeGreaterThanOrEqual(30)
    expect(server.alive(), server.stderr()).toBe(true)
    expect(await serves(server)).toBe(true)
    // And the API still answers a call on a fresh socket.
    const ws = await openSocket(server.port, server.token)
    ws.socket.write(encodeFrame({ opcode: 1, payload: Buffer.from('{"type":"call","id":9,"method":"appInfo","params":{}}') }))
    await expect.poll(() => decodeFrames(ws.received()).map((f) => JSON.parse(f.payload.toString()) as { id: number; type: string }).find((m) => m.id === 9)?.type, { timeout: 10_000 }).toBe('result')
    ws.socket.destroy()
    expect(server.stderr()).not.toMatch(/internal error|Error/)
  }, 60_000)
})
