import type { FromGpuHost, FsOp, HostFacts, ToGpuHost } from './protocol'
import { buffersOf } from './protocol'

/**
 * The GPU host's line to the Node side: requests with ids, answered by the bridge. Set up once, before
 * the engine is imported (its modules read fs constants at load time), by the worker entry.
 */

type Send = (message: FromGpuHost, transfer: ArrayBuffer[]) => void

let send: Send | undefined
let facts: HostFacts | undefined
let nextId = 1
const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()

export function connectRemote(sender: Send, hostFacts: HostFacts): void {
  send = sender
  facts = hostFacts
  for (const path of hostFacts.existing) existing.add(key(path))
}

export function hostFacts(): HostFacts {
  if (!facts) throw new Error('the GPU host is not connected to its host yet')
  return facts
}

/** A reply from the bridge settles its request. */
export function settleReply(message: Extract<ToGpuHost, { kind: 'reply' }>): void {
  const waiting = pending.get(message.id)
  if (!waiting) return
  pending.delete(message.id)
  if (message.ok) waiting.resolve(message.value)
  else waiting.reject(Object.assign(new Error(message.error.message), message.error.code !== undefined && { code: message.error.code }))
}

export function request(message: { kind: 'fs'; op: FsOp; args: unknown[] } | Omit<Extract<FromGpuHost, { kind: 'svd' }>, 'id'>): Promise<unknown> {
  if (!send) throw new Error('the GPU host is not connected to its host yet')
  const id = nextId++
  const full = { ...message, id } as FromGpuHost
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject })
    send!(full, buffersOf(full))
  })
}

export function fsCall(op: FsOp, ...args: unknown[]): Promise<unknown> {
  return request({ kind: 'fs', op, args })
}

/**
 * What exists, for existsSync: the host's listing of the writable folders at start, kept up to date by
 * this host's own writes (the run's lock makes it the only writer there).
 */
const existing = new Set<string>()

/**
 * Paths compared with forward slashes: the page joins with path-browserify (POSIX) while a Windows
 * host lists with backslashes.
 */
const key = (path: string): string => path.replaceAll('\\', '/')
const sep = (): string => '/'

export function exists(path: string): boolean {
  return existing.has(key(path))
}

export function noteCreated(path: string): void {
  // A file's folders exist too.
  let at = key(path)
  while (at.length > 1 && !existing.has(at)) {
    existing.add(at)
    const cut = at.lastIndexOf(sep())
    if (cut <= 0) break
    at = at.slice(0, cut)
  }
}

export function noteRemoved(raw: string): void {
  const path = key(raw)
  for (const known of [...existing]) if (known === path || known.startsWith(path + sep())) existing.delete(known)
}

export function noteRenamed(rawFrom: string, rawTo: string): void {
  const from = key(rawFrom)
  const to = key(rawTo)
  const moved = [...existing].filter((known) => known === from || known.startsWith(from + sep()))
  noteRemoved(to)
  for (const known of moved) {
    existing.delete(known)
    existing.add(to + known.slice(from.length))
  }
  noteCreated(to)
}
