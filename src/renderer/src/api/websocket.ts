import type { SivaApi } from '@shared/api'
import { MessageClient } from '@shared/client'

/**
 * The API over a WebSocket to `siva serve` (/api on the page's own host; the token travels as the cookie
 * the server set, or from the page's ?token=). A dropped connection fails what was in flight and is
 * opened again for the next request; a view re-attaches to a run by asking for events after the last it saw.
 */
export function websocketApi(location: Location): SivaApi {
  const token = new URLSearchParams(location.search).get('token')
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
      client.disconnected('the connection to the SiVA Studio server was lost; try again')
    })
    return ws
  }

  return {
    call: (method, params) => client.call(method, params),
    stream: (method, params, onEvent, onEnd) => client.stream(method, params, onEvent, onEnd)
  }
}
