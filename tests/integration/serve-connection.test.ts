import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ServerMessage } from '../../src/shared/api'
import { SivaBackend } from '../../src/main/services/backend'
import { Connection, maxOpenStreams } from '../../src/main/services/connection'
import { tempDir } from '../helpers/paths'

/**
 * The Connection behind `siva serve`'s socket and the desktop app's IPC: whatever arrives, and however the
 * backend or the transport fails, it answers with an error reply and never throws or leaves a rejected
 * promise unhandled (either would end the process from inside a socket's event handler).
 */
let backend: SivaBackend
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => void unhandled.push(reason)

beforeAll(() => {
  const root = tempDir('serve-connection')
  backend = new SivaBackend({ runsDir: join(root, 'runs'), svdCacheDir: join(root, 'cache') })
  process.on('unhandledRejection', onUnhandled)
})

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled)
  await backend.close()
})

afterEach(async () => {
  await new Promise((done) => setTimeout(done, 50))
  expect(unhandled.map(String)).toEqual([])
})

function recorder(): { sent: ServerMessage[]; send: (message: ServerMessage) => void; next: (id: number) => Promise<ServerMessage> } {
  const sent: ServerMessage[] = []
  return {
    sent,
    send: (message) => void sent.push(message),
    next: async (id) => {
      await expect.poll(() => sent.find((m) => m.id === id), { timeout: 10_000 }).toBeDefined()
      return sent.find((m) => m.id === id)!
    }
  }
}

/**
 * A stand-in for a backend that throws where the real one rejects: the real SivaBackend's methods are async,
 * but Connection is the guard for every backend behind it, so it must not rely on that.
 */
function throwingBackend(): SivaBackend {
  return {
    call: () => {
      throw new Error('call blew up')
    },
    stream: () => {
      throw new Error('stream blew up')
    }
  } as unknown as SivaBackend
}

describe('Connection', () => {
  it('answers values that are not protocol messages with an error reply naming the problem', async () => {
    const { sent, send } = recorder()
    const connection = new Connection(backend, send)
    for (const raw of [undefined, null, 3, 'x', [], {}, Object.create(null), { id: {} }, { type: 'call', id: -1, method: 'appInfo' }, { type: 'call', id: Number.NaN }]) {
      expect(() => connection.handle(raw)).not.toThrow()
    }
    expect(sent).toHaveLength(10)
    expect(sent.every((m) => m.type === 'error' && m.id === -1 && /^malformed message: /.test(m.message))).toBe(true)
  })

  it('refuses methods that are Object.prototype\'s names, not the API\'s', async () => {
    const { send, next } = recorder()
    const connection = new Connection(backend, send)
    connection.handle({ type: 'call', id: 1, method: '__proto__', params: {} })
    connection.handle({ type: 'call', id: 2, method: 'constructor', params: {} })
    connection.handle({ type: 'stream', id: 3, method: 'hasOwnProperty', params: {} })
    expect(await next(1)).toMatchObject({ type: 'error', message: 'unknown method "__proto__"' })
    expect(await next(2)).toMatchObject({ type: 'error', message: 'unknown method "constructor"' })
    expect(await next(3)).toMatchObject({ type: 'end', error: 'unknown method "hasOwnProperty"' })
  })

  it('turns a backend that throws into an error reply for that id', async () => {
    const { send, next } = recorder()
    const connection = new Connection(throwingBackend(), send)
    expect(() => connection.handle({ type: 'call', id: 4, method: 'appInfo', params: {} })).not.toThrow()
    expect(() => connection.handle({ type: 'stream', id: 5, method: 'runEvents', params: {} })).not.toThrow()
    expect(await next(4)).toEqual({ type: 'error', id: 4, message: 'call blew up' })
    expect(await next(5)).toEqual({ type: 'end', id: 5, error: 'stream blew up' })
  })

  it('answers a result the transport cannot send with an error for its id, and survives a transport that is gone', async () => {
    const sent: ServerMessage[] = []
    // A result the transport refuses (as JSON.stringify refuses a BigInt), then a transport that refuses everything (a closed window).
    const picky = new Connection(backend, (message) => {
      if (message.type === 'result') throw new TypeError('Do not know how to serialize a BigInt')
      sent.push(message)
    })
    picky.handle({ type: 'call', id: 6, method: 'appInfo', params: {} })
    await expect.poll(() => sent.find((m) => m.id === 6), { timeout: 10_000 }).toEqual({ type: 'error', id: 6, message: 'the reply could not be sent: Do not know how to serialize a BigInt' })
    const gone = new Connection(backend, () => {
      throw new Error('Object has been destroyed')
    })
    expect(() => gone.handle({ type: 'call', id: 7, method: 'appInfo', params: {} })).not.toThrow()
    expect(() => gone.handle({ type: 'call', id: 8, method: 'nope', params: {} })).not.toThrow()
    expect(() => gone.handle('not a message')).not.toThrow()
  })

  it('refuses a second stream under an id that is open, and more than the open-stream limit', async () => {
    const aborted: number[] = []
    const waiting = {
      stream: (_method: string, params: { n: number }, _emit: unknown, signal: AbortSignal) =>
        new Promise<void>((done) => signal.addEventListener('abort', () => done(void aborted.push(params.n)))),
      call: async () => ({})
    } as unknown as SivaBackend
    const { sent, send, next } = recorder()
    const connection = new Connection(waiting, send)
    connection.handle({ type: 'stream', id: 1, method: 'runEvents', params: { n: 1 } })
    connection.handle({ type: 'stream', id: 1, method: 'runEvents', params: { n: 2 } })
    expect(await next(1)).toEqual({ type: 'end', id: 1, error: 'stream id 1 is already open' })
    for (let id = 2; id <= maxOpenStreams; id++) connection.handle({ type: 'stream', id, method: 'runEvents', params: { n: id } })
    connection.handle({ type: 'stream', id: 100_000, method: 'runEvents', params: { n: 0 } })
    expect(await next(100_000)).toEqual({ type: 'end', id: 100_000, error: `too many open streams (${maxOpenStreams}); close some first` })
    expect(sent).toHaveLength(2)
    // Going away stops every stream it held, the first one included.
    connection.close()
    await expect.poll(() => aborted.length).toBe(maxOpenStreams)
    expect(aborted).toContain(1)
    expect(aborted).not.toContain(0)
  })
})
