import type { SivaApi } from '@shared/api'
import { MessageClient } from '@shared/client'

const tokenKey = 'siva-token'

/**
 * The token `siva serve` printed in the address. The first load takes it from `?token=` and removes it from
 * the address bar (so it stays out of history and bookmarks); it lives on in this tab's sessionStorage,
 * which only this origin, this server's host and port, can read, for reloads. The server's page cookie
 * opens only the pages, never the API: cookies ignore ports, and every server on the host receives it.
 */
export function takePageToken(location: Location, history: History, storage: Storage | undefined): string | undefined {
  const query = new URLSearchParams(location.search)
  const given = query.get('token')
  if (given) {
    try {
      storage?.setItem(tokenKey, given)
    } catch {
      // Storage disabled: the token then lasts as long as this page.
    }
    query.delete('token')
    const rest = query.toString()
    history.replaceState(history.state, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`)
    return given
  }
  try {
    return storage?.getItem(tokenKey) ?? undefined
  } catch {
    return undefined
  }
}

/**
 * The API over a WebSocket to `siva serve` (/api on the page's own host, with the token as `?token=`). A
 * dropped connection fails what was in flight and is opened again for the next request; a view re-attaches
 * to a run by asking for events after the last it saw.
 */
export function websocketApi(location: Location): SivaApi {
  const token = takePageToken(location, window.history, sessionStorageOrNone())
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api${token ? `?token=${encodeURIComponent(token)}` : ''}`
  let socket: WebSocket | undefined
  let queue: string[] = []
  const client = new MessageClient((message) => {
    const text = JSON.stringify(message)
    const open = connect()
    if (open.readyState === WebSocket.OPEN) open.send(text)
    else queue.push(text)
  })

  function connect(): WebSocket {
    if (socket && socket.readyState <= WebSocket.OPEN) return socket
    const ws = new WebSocket(url)
    socket = ws
    ws.addEventListener('open', () => {
      for (const text of queue) ws.send(text)
      queue = []
    })
    ws.addEventListener('message', (event) => client.receive(JSON.parse(String(event.data))))
    ws.addEventListener('close', () => {
      if (socket === ws) socket = undefined
      queue = []
      client.disconnected(token ? 'the connection to the SiVA Studio server was lost; try again' : 'no token: open the address `siva serve` printed, with its ?token=')
    })
    return ws
  }

  return {
    call: (method, params) => client.call(method, params),
    stream: (method, params, onEvent, onEnd) => client.stream(method, params, onEvent, onEnd)
  }
}

function sessionStorageOrNone(): Storage | undefined {
  try {
    return window.sessionStorage
  } catch {
    // Reading sessionStorage throws where the browser blocks storage for the page.
    return undefined
  }
}
