import type { GpuAdapterSummary } from '../../shared/training'
import type { TrainingCommand, TrainingReport } from '../workers/trainingProtocol'

/**
 * What the Node (or Electron main) side and the GPU training host in a browser worker say to each other.
 * Training itself speaks the training worker's own TrainingCommand / TrainingReport; around it the host
 * asks for what a page cannot do itself: file system calls (the engine's node:fs, answered by the bridge
 * inside the folders the run may touch) and SVDs (the analysis pool). Bytes travel as ArrayBuffers, so a
 * MessagePort transfers them and a WebSocket sends them as binary frames (encodeFrame below).
 */

/** Facts about the host process the engine reads synchronously (pid and host name go into the run's lock). */
export interface HostFacts {
  pid: number
  hostname: string
  platform: string
  arch: string
  /** /proc/PID/stat of the host process, for the lock's process start time (Linux); absent elsewhere. */
  procStat?: string
  /** node:fs constants of the host, so open() flags mean on the host what the engine meant. */
  constants: Record<string, number>
  /** Every file and folder that exists under the folders the run may write, for existsSync. */
  existing: string[]
  /** Path separator of the host. */
  sep: string
}

export type FsOp =
  | 'open' | 'h.stat' | 'h.read' | 'h.write' | 'h.readFile' | 'h.writeFile' | 'h.sync' | 'h.close'
  | 'readFile' | 'writeFile' | 'appendFile' | 'rename' | 'rm' | 'rmdir' | 'mkdir' | 'readdir' | 'stat' | 'access'

/** A file's kind and size, as the host's stat gave them. */
export interface StatReply {
  kind: 'file' | 'dir' | 'fifo' | 'socket' | 'char' | 'block' | 'symlink' | 'other'
  size: number
  mtimeMs: number
}

/** Host → GPU host. */
export type ToGpuHost =
  | { kind: 'init'; facts: HostFacts }
  /** Which adapter this window's WebGPU would train on (no run: the app's Model step and 'auto' ask). */
  | { kind: 'probe'; platform: string }
  | { kind: 'command'; command: TrainingCommand }
  | { kind: 'reply'; id: number; ok: true; value: unknown }
  | { kind: 'reply'; id: number; ok: false; error: { message: string; code?: string } }

/** GPU host → host. */
export type FromGpuHost =
  | { kind: 'ready' }
  | { kind: 'probed'; probe: { adapter: GpuAdapterSummary } | { reason: string } }
  | { kind: 'report'; report: TrainingReport }
  | { kind: 'fs'; id: number; op: FsOp; args: unknown[] }
  /** `band`: only that band's vectors are needed (Decompose's band), as a run in a worker thread asks. */
  | { kind: 'svd'; id: number; name: string; outFeatures: number; inFeatures: number; weight: ArrayBuffer; bias?: ArrayBuffer; band?: [number, number] }

/** The SVD reply's value: s, u, vt as float64 buffers; `band` when u and vt hold only that band. */
export interface SvdReply {
  s: ArrayBuffer
  u: ArrayBuffer
  vt: ArrayBuffer
  band?: [number, number]
}

/** Either end of the channel: a MessagePort, a worker, or a WebSocket behind encodeFrame/decodeFrame. */
export interface Transport<In, Out> {
  postMessage(message: Out, transfer?: ArrayBuffer[]): void
  onMessage(listener: (message: In) => void): void
}

/** ArrayBuffers inside a message, in order, for a transfer list. */
export function buffersOf(value: unknown, into: ArrayBuffer[] = []): ArrayBuffer[] {
  if (value instanceof ArrayBuffer) into.push(value)
  else if (Array.isArray(value)) for (const item of value) buffersOf(item, into)
  else if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) for (const item of Object.values(value)) buffersOf(item, into)
  return into
}

/**
 * One message as one binary WebSocket frame: a 4-byte little-endian JSON length, the JSON (each
 * ArrayBuffer replaced by {"$buffer": i}), then the buffers, each preceded by its 8-byte length.
 */
export function encodeFrame(message: unknown): Uint8Array {
  const buffers: ArrayBuffer[] = []
  const json = JSON.stringify(message, function (this: unknown, _key, value: unknown) {
    if (value instanceof ArrayBuffer) return { $buffer: buffers.push(value) - 1 }
    return value
  })
  const head = new TextEncoder().encode(json)
  const total = 4 + head.length + buffers.reduce((sum, b) => sum + 8 + b.byteLength, 0)
  const frame = new Uint8Array(total)
  const view = new DataView(frame.buffer)
  view.setUint32(0, head.length, true)
  frame.set(head, 4)
  let at = 4 + head.length
  for (const buffer of buffers) {
    view.setBigUint64(at, BigInt(buffer.byteLength), true)
    frame.set(new Uint8Array(buffer), at + 8)
    at += 8 + buffer.byteLength
  }
  return frame
}

export function decodeFrame(frame: Uint8Array): unknown {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  const headLength = view.getUint32(0, true)
  const json = new TextDecoder().decode(frame.subarray(4, 4 + headLength))
  const buffers: ArrayBuffer[] = []
  let at = 4 + headLength
  while (at < frame.byteLength) {
    const length = Number(view.getBigUint64(at, true))
    buffers.push(frame.slice(at + 8, at + 8 + length).buffer)
    at += 8 + length
  }
  return JSON.parse(json, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && '$buffer' in value && Object.keys(value).length === 1) {
      const buffer = buffers[(value as { $buffer: number }).$buffer]
      if (!buffer) throw new Error('a GPU host frame names a buffer it does not carry')
      return buffer
    }
    return value
  })
}
