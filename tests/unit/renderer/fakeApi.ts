import type { CallName, CallResults, Params, SivaApi, StreamEvents, StreamName } from '../../../src/shared/api'

/**
 * The transport seam for renderer tests: a SivaApi whose calls answer from handlers the test gives and
 * whose streams the test drives by hand. Test files route the renderer's api module here with
 * `vi.mock('@renderer/api', () => import('./fakeApi'))`.
 */
export interface OpenStream<M extends StreamName = StreamName> {
  method: M
  params: Params<M>
  emit: (event: StreamEvents[M]) => void
  end: (error?: string) => void
  closed: boolean
}

type Handlers = { [M in CallName]?: (params: Params<M>) => CallResults[M] | Promise<CallResults[M]> }

export class FakeApi implements SivaApi {
  readonly calls: { method: CallName; params: unknown }[] = []
  readonly streams: OpenStream[] = []

  constructor(private readonly handlers: Handlers = {}) {}

  async call<M extends CallName>(method: M, params: Params<M>): Promise<CallResults[M]> {
    this.calls.push({ method, params })
    const handler = this.handlers[method] as ((p: Params<M>) => CallResults[M] | Promise<CallResults[M]>) | undefined
    if (!handler) throw new Error(`${method}: no handler in this test`)
    return handler(params)
  }

  stream<M extends StreamName>(method: M, params: Params<M>, onEvent: (event: StreamEvents[M]) => void, onEnd?: (error?: string) => void): () => void {
    const open: OpenStream<M> = {
      method,
      params,
      closed: false,
      emit: (event) => {
        if (!open.closed) onEvent(event)
      },
      end: (error) => {
        if (open.closed) return
        open.closed = true
        onEnd?.(error)
      }
    }
    this.streams.push(open as unknown as OpenStream)
    return () => {
      open.closed = true
    }
  }

  /** The latest stream of a method. */
  last<M extends StreamName>(method: M): OpenStream<M> {
    const found = this.streams.filter((s) => s.method === method).at(-1)
    if (!found) throw new Error(`no ${method} stream was opened`)
    return found as unknown as OpenStream<M>
  }

  callsOf(method: CallName): unknown[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.params)
  }
}

let current = new FakeApi()

export function setApi(api: FakeApi): FakeApi {
  current = api
  return api
}

/** Stands in for src/renderer/src/api's export. */
export function useApi(): SivaApi {
  return current
}
