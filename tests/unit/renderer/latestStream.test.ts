import { describe, expect, it, vi } from 'vitest'
import type { Params, StreamEvents, StreamName } from '@shared/api'
import { LatestStream } from '@renderer/lib/latestStream'
import { FakeApi, setApi } from './fakeApi'

vi.mock('@renderer/api', () => import('./fakeApi'))

/** A transport that still delivers what was in flight after the stream is closed, as a socket may. */
class LateApi extends FakeApi {
  readonly deliver: { onEvent: (e: unknown) => void; onEnd: (error?: string) => void; closed: boolean }[] = []
  override stream<M extends StreamName>(_method: M, _params: Params<M>, onEvent: (event: StreamEvents[M]) => void, onEnd?: (error?: string) => void): () => void {
    const entry = { onEvent: onEvent as (e: unknown) => void, onEnd: (error?: string) => onEnd?.(error), closed: false }
    this.deliver.push(entry)
    return () => {
      entry.closed = true
    }
  }
}

const progress = (done: number): StreamEvents['analyseLayers'] => ({ type: 'progress', done, total: 3 })

describe('LatestStream: the one stream a store follows', () => {
  it('a replaced stream is closed, and what it still delivers afterwards is dropped', () => {
    const api = new LateApi()
    setApi(api)
    const stream = new LatestStream('analyseLayers')
    const seen: string[] = []
    const ends: string[] = []
    stream.open({ path: '/a' }, (e) => seen.push(`a${e.type === 'progress' ? e.done : ''}`), (error) => ends.push(`a:${error ?? 'done'}`))
    api.deliver[0]!.onEvent(progress(1))
    stream.open({ path: '/b' }, (e) => seen.push(`b${e.type === 'progress' ? e.done : ''}`), (error) => ends.push(`b:${error ?? 'done'}`))
    expect(api.deliver[0]!.closed).toBe(true)
    api.deliver[0]!.onEvent(progress(2)) // in flight when /a was replaced
    api.deliver[0]!.onEnd()
    api.deliver[1]!.onEvent(progress(1))
    api.deliver[1]!.onEnd('the back end went away')
    expect(seen).toEqual(['a1', 'b1'])
    expect(ends).toEqual(['b:the back end went away'])
  })

  it('stop closes it and silences it; a stream that cannot open ends at once with the reason', () => {
    const api = new LateApi()
    setApi(api)
    const stream = new LatestStream('analyseLayers')
    const seen: number[] = []
    const ends: (string | undefined)[] = []
    stream.open({ path: '/a' }, () => seen.push(1), (error) => ends.push(error))
    stream.stop()
    expect(api.deliver[0]!.closed).toBe(true)
    api.deliver[0]!.onEvent(progress(1))
    api.deliver[0]!.onEnd()
    expect([seen, ends]).toEqual([[], []])

    vi.spyOn(api, 'stream').mockImplementation(() => {
      throw new Error('not connected')
    })
    stream.open({ path: '/b' }, () => seen.push(2), (error) => ends.push(error))
    expect(ends).toEqual(['not connected'])
  })
})
