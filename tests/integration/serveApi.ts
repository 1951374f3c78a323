import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import WebSocket from 'ws'
import type { CallName, CallResults, Params, ServerMessage, StreamEvents, StreamName } from '../../src/shared/api'
import { MessageClient } from '../../src/shared/client'
import type { ServeProcess } from './serveProcess'

/**
 * The shared protocol spoken to a `siva serve` process through a real `ws` client, as the renderer speaks
 * it: for tests of what the back end does behind the server (serveProcess.ts has the raw bytes).
 */
export interface ApiClient {
  ws: WebSocket
  call<M extends CallName>(method: M, params: Params<M>): Promise<CallResults[M]>
  /** Every event of a stream until it ends (or `until` says so, which closes it). */
  collect<M extends StreamName>(method: M, params: Params<M>, until?: (event: StreamEvents[M]) => boolean): Promise<StreamEvents[M][]>
  close(): void
}

/** Connected with the server's token; `withToken` false tries without it (the server refuses the upgrade). */
export async function connectApi(server: ServeProcess, withToken = true): Promise<ApiClient> {
  const ws = new WebSocket(`ws://${server.url.host}/api${withToken ? `?token=${server.token}` : ''}`)
  const api = new MessageClient((message) => ws.send(JSON.stringify(message)))
  ws.on('message', (data) => api.receive(JSON.parse(data.toString()) as ServerMessage))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return {
    ws,
    call: (method, params) => api.call(method, params),
    collect: (method, params, until) => {
      const events: StreamEvents[typeof method][] = []
      return new Promise((resolve, reject) => {
        const close = api.stream(method, params, (event) => {
          events.push(event)
          if (until?.(event)) {
            close()
            resolve(events)
          }
        }, (error) => (error ? reject(new Error(error)) : resolve(events)))
      })
    },
    close: () => ws.close()
  }
}

/** A renderer folder holding only index.html: enough for a server whose page is not under test. */
export function rendererStub(root: string): string {
  const renderer = join(root, 'renderer')
  mkdirSync(renderer, { recursive: true })
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>SiVA Studio</title>')
  return renderer
}
