/**
 * The client side of the wire protocol in api.ts, over any message pipe: the Electron preload runs it over
 * IPC, the renderer over a WebSocket. Pure TypeScript (no DOM, no Node), so both sides share it.
 */
import type { CallName, CallResults, ClientMessage, Params, ServerMessage, SivaApi, StreamEvents, StreamName } from './api'

interface Pending {
  resolve(value: unknown): void
  reject(error: Error): void
}

interface OpenStream {
  onEvent(event: unknown): void
  onEnd?: (error?: string) => void
}

export class MessageClient implements SivaApi {
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private readonly streams = new Map<number, OpenStream>()

  /** `send` delivers a message to the back end; feed everything it answers to `receive`. */
  constructor(private readonly send: (message: ClientMessage) => void) {}

  call<M extends CallName>(method: M, params: Params<M>): Promise<CallResults[M]> {
    const id = this.nextId++
    return new Promise<CallResults[M]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      try {
        this.send({ type: 'call', id, method, params })
      } catch (error) {
        this.pending.delete(id)
        reject(error instanceof Error ? error : new Error(String(error)))
      }
    })
  }

  stream<M extends StreamName>(method: M, params: Params<M>, onEvent: (event: StreamEvents[M]) => void, onEnd?: (error?: string) => void): () => void {
    const id = this.nextId++
    this.streams.set(id, { onEvent: onEvent as (event: unknown) => void, ...(onEnd && { onEnd }) })
    this.send({ type: 'stream', id, method, params })
    return () => {
      if (!this.streams.delete(id)) return
      try {
        this.send({ type: 'close', id })
      } catch {
        // the connection is gone: nothing to close
      }
    }
  }

  receive(message: ServerMessage): void {
    switch (message.type) {
      case 'result':
        this.pending.get(message.id)?.resolve(message.result)
        this.pending.delete(message.id)
        break
      case 'error':
        this.pending.get(message.id)?.reject(new Error(message.message))
        this.pending.delete(message.id)
        break
      case 'event':
        this.streams.get(message.id)?.onEvent(message.event)
        break
      case 'end': {
        const stream = this.streams.get(message.id)
        this.streams.delete(message.id)
        stream?.onEnd?.(message.error)
        break
      }
    }
  }

  /** The pipe broke: every call in flight fails and every stream ends with `reason`. */
  disconnected(reason: string): void {
    for (const pending of this.pending.values()) pending.reject(new Error(reason))
    this.pending.clear()
    for (const stream of this.streams.values()) stream.onEnd?.(reason)
    this.streams.clear()
  }
}
