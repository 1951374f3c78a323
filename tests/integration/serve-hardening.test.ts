import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { acceptedHosts, hostAccepted, isLoopback } from '../../src/main/server/hosts'
import { tempDir } from '../helpers/paths'
import { closeCodeOf, decodeFrames, encodeFrame, exchange, headerOf, openSocket, request, serves, startServe, statusOf, upgradeRequest, type ServeProcess } from './serveProcess'

/**
 * What a hostile client sends to `siva serve`, as raw bytes: each of these once ended the process (and every
 * run in it). Each test checks the refusal's status or close code, then that the same process still serves.
 */
let server: ServeProcess
let root: string

beforeAll(async () => {
  root = tempDir('serve-hardening')
  const renderer = join(root, 'renderer')
  mkdirSync(join(renderer, 'assets'), { recursive: true })
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>SiVA Studio</title>')
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)\n')
  // A file that exists and opens but whose read fails (EIO): the server reading its own /proc/self/mem at offset 0.
  if (process.platform === 'linux') symlinkSync('/proc/self/mem', join(renderer, 'assets', 'unreadable.js'))
  server = await startServe(root, renderer)
}, 60_000)

afterAll(() => server?.stop())

async function expectServing(): Promise<void> {
  expect(await serves(server), `the server stopped serving; its stderr:\n${server.stderr()}`).toBe(true)
}

/** The server sent a close frame with `code`; answered as a client must, the connection then ends. */
async function expectClosedWith(ws: Awaited<ReturnType<typeof openSocket>>, code: number): Promise<void> {
  await expect.poll(() => closeCodeOf(decodeFrames(ws.received())), { timeout: 5000 }).toBe(code)
  const echo = Buffer.alloc(2)
  echo.writeUInt16BE(code)
  if (!ws.socket.destroyed) ws.socket.write(encodeFrame({ opcode: 8, payload: echo }))
  expect(await ws.closed()).toBe(true)
}

async function statusFor(bytes: string | Buffer): Promise<number | undefined> {
  return statusOf((await exchange(server.port, bytes)).data)
}

describe('siva serve: nothing a client sends ends the process', () => {
  it('refuses a WebSocket upgrade with Origin: null (a sandboxed frame sends it) or an unreadable Origin with 403', async () => {
    expect(await statusFor(upgradeRequest(server.port, `/api?token=${server.token}`, { Origin: 'null' }))).toBe(403)
    expect(await statusFor(upgradeRequest(server.port, `/api?token=${server.token}`, { Origin: 'http://[' }))).toBe(403)
    expect(await statusFor(upgradeRequest(server.port, `/api?token=${server.token}`, { Origin: 'http://evil.example' }))).toBe(403)
    await expectServing()
  })

  it('refuses a request-target that is not a URL (http://[) with 400, page and upgrade alike', async () => {
    expect(await statusFor(request(server.port, 'http://['))).toBe(400)
    expect(await statusFor(upgradeRequest(server.port, 'http://['))).toBe(400)
    await expectServing()
  })

  it('refuses a malformed percent-escape or a NUL in the path with 400, and a traversal by escapes with 404', async () => {
    for (const path of ['/%c0%ae', '/%', '/assets/%E0%A4%A', '/assets/app.js%00.html']) {
      expect(await statusFor(request(server.port, `${path}?token=${server.token}`)), path).toBe(400)
    }
    for (const path of ['/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2f..%2fetc%2fpasswd', '/assets/..%5c..%5cindex.html', '/../../etc/passwd']) {
      expect(await statusFor(request(server.port, `${path}?token=${server.token}`)), path).toBe(404)
    }
    expect(await statusFor(request(server.port, `/assets/app.js?token=${server.token}`))).toBe(200)
    await expectServing()
  })

  it.skipIf(process.platform !== 'linux')('answers a file whose read fails with 500', async () => {
    expect(await statusFor(request(server.port, `/assets/unreadable.js?token=${server.token}`))).toBe(500)
    await expectServing()
  })

  it('answers what the HTTP parser refuses with 400 (431 for headers over the limit), and a request without Host with 400', async () => {
    expect(await statusFor('GARBAGE\r\n\r\n')).toBe(400)
    expect(await statusFor(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`)).toBe(431)
    expect(await statusFor(`GET /?token=${server.token} HTTP/1.0\r\n\r\n`)).toBe(400)
    await expectServing()
  })

  it('closes a frame over the payload limit with 1009, without reading its payload', async () => {
    const ws = await openSocket(server.port, server.token)
    ws.socket.write(encodeFrame({ opcode: 1, payload: Buffer.alloc(0), declaredLength: 2 ** 40 }))
    await expectClosedWith(ws, 1009)
    await expectServing()
  })

  it('closes a text frame that is not UTF-8 with 1007', async () => {
    const ws = await openSocket(server.port, server.token)
    ws.socket.write(encodeFrame({ opcode: 1, payload: Buffer.from([0x7b, 0xc0, 0xae, 0x7d]) }))
    await expectClosedWith(ws, 1007)
    await expectServing()
  })

  it('closes an unmasked frame or an unknown opcode with 1002, and a binary message with 1003', async () => {
    for (const [frame, code] of [
      [{ opcode: 1, payload: Buffer.from('{}'), mask: null }, 1002],
      [{ opcode: 3, payload: Buffer.from('{}') }, 1002],
      [{ opcode: 2, payload: Buffer.from('{"type":"call","id":1,"method":"appInfo","params":{}}') }, 1003]
    ] as const) {
      const ws = await openSocket(server.port, server.token)
      ws.socket.write(encodeFrame(frame))
      await expectClosedWith(ws, code)
    }
    await expectServing()
  })

  it('answers a message that is not JSON, or not the protocol, with an error reply, and keeps the socket open', async () => {
    const ws = await openSocket(server.port, server.token)
    for (const text of ['{not json', '[]', 'null', '{"type":"call","id":1.5,"method":"appInfo"}', '{"type":"stream","id":2,"method":"nope","params":{}}']) {
      ws.socket.write(encodeFrame({ opcode: 1, payload: Buffer.from(text) }))
    }
    ws.socket.write(encodeFrame({ opcode: 1, payload: Buffer.from('{"type":"call","id":7,"method":"appInfo","params":{}}') }))
    await expect.poll(() => decodeFrames(ws.received()).map((f) => JSON.parse(f.payload.toString()) as { type: string; id: number }).find((m) => m.id === 7)?.type, { timeout: 10_000 }).toBe('result')
    const replies = decodeFrames(ws.received()).map((f) => JSON.parse(f.payload.toString()) as { type: string; id: number; message?: string; error?: string })
    expect(replies.filter((m) => m.type === 'error').map((m) => m.id)).toEqual([-1, -1, -1, 1.5])
    expect(replies.find((m) => m.id === 2)).toMatchObject({ type: 'end', error: expect.stringMatching(/unknown method "nope"/) })
    ws.socket.destroy()
    await expectServing()
  })
})

describe('siva serve: the credential belongs to this server alone', () => {
  it('sets a page cookie named for its port that is not the token, and refuses another port\'s cookie and the old cookie', async () => {
    const first = await exchange(server.port, request(server.port, `/?token=${server.token}`))
    expect(statusOf(first.data)).toBe(200)
    const cookie = headerOf(first.data, 'set-cookie') ?? ''
    expect(cookie).toMatch(new RegExp(`^siva_page_${server.port}=[0-9a-f]+; HttpOnly; SameSite=Strict; Path=/$`))
    const value = /=([0-9a-f]+);/.exec(cookie)![1]!
    // Cookies ignore ports: every server on 127.0.0.1 receives this one, so it must not be the token.
    expect(value).not.toContain(server.token)
    expect(await statusFor(request(server.port, '/', { Cookie: `siva_page_${server.port}=${value}` }))).toBe(200)
    expect(await statusFor(request(server.port, '/assets/app.js', { Cookie: `other=1; siva_page_${server.port}=${value}` }))).toBe(200)
    expect(await statusFor(request(server.port, '/', { Cookie: `siva_page_${server.port + 1}=${value}` }))).toBe(401)
    expect(await statusFor(request(server.port, '/', { Cookie: `siva_token=${server.token}` }))).toBe(401)
    expect(await statusFor(request(server.port, '/', { Cookie: `siva_page_${server.port}=${server.token}` }))).toBe(401)
    await expectServing()
  })

  it('opens the API only with the token itself, never with the page cookie a neighbour on another port also receives', async () => {
    const first = await exchange(server.port, request(server.port, `/?token=${server.token}`))
    const value = /=([0-9a-f]+);/.exec(headerOf(first.data, 'set-cookie') ?? '')?.[1] ?? ''
    expect(await statusFor(upgradeRequest(server.port, '/api', { Cookie: `siva_page_${server.port}=${value}` }))).toBe(401)
    expect(await statusFor(upgradeRequest(server.port, '/api', { Cookie: `siva_token=${server.token}` }))).toBe(401)
    expect(await statusFor(upgradeRequest(server.port, `/api?token=${server.token}x`))).toBe(401)
    expect(await statusFor(upgradeRequest(server.port, `/elsewhere?token=${server.token}`))).toBe(404)
    const ws = await openSocket(server.port, server.token)
    ws.socket.destroy()
    await expectServing()
  })
})

describe('siva serve: Host check against DNS rebinding', () => {
  it('refuses a Host or an absolute target that is not this server with 421, for pages and upgrades', async () => {
    const withToken = `/?token=${server.token}`
    for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`, `localhost.evil.example:${server.port}`, '127.0.0.1', '']) {
      expect(await statusFor(request(server.port, withToken, { Host: host })), host).toBe(421)
      expect(await statusFor(upgradeRequest(server.port, `/api?token=${server.token}`, { Host: host })), host).toBe(421)
    }
    expect(await statusFor(request(server.port, `http://evil.example:${server.port}${withToken}`))).toBe(421)
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `LocalHost:${server.port}`, `[::1]:${server.port}`]) {
      expect(await statusFor(request(server.port, withToken, { Host: host })), host).toBe(200)
    }
    expect(await statusFor(request(server.port, `http://localhost:${server.port}${withToken}`))).toBe(200)
    await expectServing()
  })

  it('bound to every interface (0.0.0.0), accepts any Host but still wants the token', async () => {
    const wide = await startServe(tempDir('serve-wide'), join(root, 'renderer'), ['--host', '0.0.0.0'])
    try {
      expect(statusOf((await exchange(wide.port, request(wide.port, `/?token=${wide.token}`, { Host: `gpu-box.example:${wide.port}` }))).data)).toBe(200)
      expect(statusOf((await exchange(wide.port, request(wide.port, '/', { Host: `gpu-box.example:${wide.port}` }))).data)).toBe(401)
      expect(statusOf((await exchange(wide.port, upgradeRequest(wide.port, '/api', { Host: `gpu-box.example:${wide.port}` }))).data)).toBe(401)
    } finally {
      wide.stop()
    }
  }, 60_000)
})

describe('the Host names a bind accepts', () => {
  it('on loopback: its own address and the loopback names, with the port; elsewhere only the bound address', () => {
    expect([...(acceptedHosts('127.0.0.1', 7860) as Set<string>)].sort()).toEqual(['127.0.0.1:7860', '[::1]:7860', 'localhost:7860'])
    expect([...(acceptedHosts('::1', 7860) as Set<string>)].sort()).toEqual(['127.0.0.1:7860', '[::1]:7860', 'localhost:7860'])
    expect(acceptedHosts('127.0.0.2', 7860)).toContain('127.0.0.2:7860')
    expect([...(acceptedHosts('192.168.1.5', 7860) as Set<string>)]).toEqual(['192.168.1.5:7860'])
    expect([...(acceptedHosts('gpu-box', 7860) as Set<string>)]).toEqual(['gpu-box:7860'])
    // A browser leaves port 80 out of Host.
    expect(hostAccepted('localhost', acceptedHosts('127.0.0.1', 80))).toBe(true)
    expect(hostAccepted('localhost', acceptedHosts('127.0.0.1', 7860))).toBe(false)
    expect(hostAccepted(undefined, acceptedHosts('127.0.0.1', 7860))).toBe(false)
    expect(acceptedHosts('0.0.0.0', 7860)).toBe('any')
    expect(acceptedHosts('::', 7860)).toBe('any')
    expect(acceptedHosts('[::]', 7860)).toBe('any')
  })

  it('counts only loopback address literals as loopback, not names that start like one', () => {
    expect(['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1'].map(isLoopback)).toEqual([true, true, true, true, true, true])
    expect(['127.evil.example', '127.0.0.1.evil.example', '0.0.0.0', '10.0.0.1', 'localhost.evil.example'].map(isLoopback)).toEqual([false, false, false, false, false])
  })
})
