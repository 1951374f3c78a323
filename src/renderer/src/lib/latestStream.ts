import type { StreamEvents, StreamName, Params } from '@shared/api'
import { useApi } from '../api'
import { messageOf } from './errors'

/**
 * One back-end stream a store follows at a time (an analysis, a run's events). Opening another, or
 * stopping, closes the current one, and whatever it still delivers afterwards is dropped: a replaced
 * stream never writes into the state of the one that replaced it.
 */
export class LatestStream<M extends StreamName> {
  private generation = 0
  private close: (() => void) | undefined

  constructor(private readonly method: M) {}

  /** Close the current stream, if any; its later events and its end are ignored. */
  stop(): void {
    this.generation++
    this.close?.()
    this.close = undefined
  }

  /**
   * Follow a new stream, closing the current one. `onEnd` runs once when it ends: with a message when it
   * failed or could not be opened, without one when it finished.
   */
  open(params: Params<M>, onEvent: (event: StreamEvents[M]) => void, onEnd: (error?: string) => void): void {
    this.stop()
    const mine = this.generation
    try {
      this.close = useApi().stream(
        this.method,
        params,
        (event) => {
          if (mine === this.generation) onEvent(event)
        },
        (error) => {
          if (mine !== this.generation) return
          this.close = undefined
          onEnd(error)
        }
      )
    } catch (e) {
      onEnd(messageOf(e))
    }
  }
}
