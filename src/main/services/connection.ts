import { clientMessage, type ServerMessage } from '../../shared/api'
import type { SivaBackend } from './backend'

/** Streams one client may hold open at once: the UI holds a few; more is a client leaking them. */
export const maxOpenStreams = 256

/**
 * One client's side of the wire protocol (api.ts) over any transport: checks each message's shape, runs
 * calls and streams on the backend, and closes every open stream when the client goes away.
 *
 * Nothing a client sends may throw out of here: the caller is a socket's or an IPC channel's event handler,
 * where a throw (or a rejected promise nobody handles) ends the process, and every run with it. A backend
 * that throws becomes an error reply; a reply that cannot be sent (not serialisable, a closed window)
 * becomes an error reply for that id, or is dropped if even that fails.
 */
export class Connection {
  private readonly streams = new Map<number, AbortController>()

  constructor(
    private readonly backend: SivaBackend,
    private readonly send: (message: ServerMessage) => void
  ) {}

  handle(raw: unknown): void {
    try {
      this.dispatch(raw)
    } catch (error) {
      this.reply({ type: 'error', id: idOf(raw), message: messageOf(error) })
    }
  }

  /** The client went away: stop its streams (runs keep training). */
  close(): void {
    for (const controller of this.streams.values()) controller.abort()
    this.streams.clear()
  }

  private dispatch(raw: unknown): void {
    const parsed = clientMessage.safeParse(raw)
    if (!parsed.success) {
      this.reply({ type: 'error', id: idOf(raw), message: `malformed message: ${parsed.error.issues[0]?.message ?? 'unreadable'}` })
      return
    }
    const message = parsed.data
    if (message.type === 'close') {
      this.streams.get(message.id)?.abort()
      this.streams.delete(message.id)
      return
    }
    if (message.type === 'call') {
      settle(() => this.backend.call(message.method, message.params)).then(
        (result) => this.reply({ type: 'result', id: message.id, result }),
        (error: unknown) => this.reply({ type: 'error', id: message.id, message: messageOf(error) })
      )
      return
    }
    // A second stream under an open id could never be closed: the first would run on after the client left.
    const refusal = this.streams.has(message.id) ? `stream id ${message.id} is already open` : this.streams.size >= maxOpenStreams ? `too many open streams (${maxOpenStreams}); close some first` : undefined
    if (refusal) {
      this.reply({ type: 'end', id: message.id, error: refusal })
      return
    }
    const controller = new AbortController()
    this.streams.set(message.id, controller)
    const emit = (event: unknown): void => {
      if (controller.signal.aborted) return
      if (!this.reply({ type: 'event', id: message.id, event })) {
        controller.abort()
        this.reply({ type: 'end', id: message.id, error: 'an event of this stream could not be sent' })
      }
    }
    settle(() => this.backend.stream(message.method, message.params, emit, controller.signal))
      .then(
        () => !controller.signal.aborted && this.reply({ type: 'end', id: message.id }),
        (error: unknown) => !controller.signal.aborted && this.reply({ type: 'end', id: message.id, error: messageOf(error) })
      )
      .finally(() => {
        if (this.streams.get(message.id) === controller) this.streams.delete(message.id)
      })
  }

  /** Sends one reply; false if it could not be sent. A result that cannot be sent turns into an error reply for its id. */
  private reply(message: ServerMessage): boolean {
    try {
      this.send(message)
      return true
    } catch (error) {
      if (message.type === 'result') {
        try {
          this.send({ type: 'error', id: message.id, message: `the reply could not be sent: ${messageOf(error)}` })
        } catch {
          // The transport itself is gone (a closed socket or window): there is no one left to tell.
        }
      }
      return false
    }
  }
}

/** `fn()` as a promise, whether it returns one, returns a value or throws. */
function settle<T>(fn: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve) => resolve(fn()))
}

function idOf(raw: unknown): number {
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined
  return typeof id === 'number' && Number.isFinite(id) ? id : -1
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  try {
    return String(error)
  } catch {
    return 'an error that cannot be shown'
  }
}
