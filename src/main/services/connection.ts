import { clientMessage, type ServerMessage } from '../../shared/api'
import type { SivaBackend } from './backend'

/**
 * One client's side of the wire protocol (api.ts) over any transport: checks each message's shape, runs
 * calls and streams on the backend, and closes every open stream when the client goes away.
 */
export class Connection {
  private readonly streams = new Map<number, AbortController>()

  constructor(
    private readonly backend: SivaBackend,
    private readonly send: (message: ServerMessage) => void
  ) {}

  handle(raw: unknown): void {
    const parsed = clientMessage.safeParse(raw)
    if (!parsed.success) {
      const id = typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : -1
      this.send({ type: 'error', id, message: `malformed message: ${parsed.error.issues[0]?.message ?? 'unreadable'}` })
      return
    }
    const message = parsed.data
    if (message.type === 'close') {
      this.streams.get(message.id)?.abort()
      this.streams.delete(message.id)
      return
    }
    if (message.type === 'call') {
      this.backend.call(message.method, message.params).then(
        (result) => this.send({ type: 'result', id: message.id, result }),
        (error: unknown) => this.send({ type: 'error', id: message.id, message: messageOf(error) })
      )
      return
    }
    const controller = new AbortController()
    this.streams.set(message.id, controller)
    this.backend
      .stream(message.method, message.params, (event) => {
        if (!controller.signal.aborted) this.send({ type: 'event', id: message.id, event })
      }, controller.signal)
      .then(
        () => !controller.signal.aborted && this.send({ type: 'end', id: message.id }),
        (error: unknown) => !controller.signal.aborted && this.send({ type: 'end', id: message.id, error: messageOf(error) })
      )
      .finally(() => this.streams.delete(message.id))
  }

  /** The client went away: stop its streams (runs keep training). */
  close(): void {
    for (const controller of this.streams.values()) controller.abort()
    this.streams.clear()
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
