import { fsCall, noteCreated, noteRemoved, noteRenamed } from '../remote'
import type { StatReply } from '../protocol'
import { Buffer } from './buffer'
import { toStats } from './stats'

/**
 * node:fs/promises for the GPU host: every call is a request to the bridge on the host, which answers
 * it inside the folders the run may use. Bytes go out and come back as ArrayBuffers.
 */

const readChunk = 1 << 20

function bytesOf(data: string | Uint8Array): ArrayBuffer {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
  return bytes.slice().buffer as ArrayBuffer
}

function encoded(bytes: ArrayBuffer, options: unknown): Buffer | string {
  const encoding = typeof options === 'string' ? options : (options as { encoding?: string } | undefined)?.encoding
  const buffer = new Buffer(bytes)
  return encoding ? buffer.toString(encoding) : buffer
}

export class FileHandle {
  constructor(
    readonly fd: number,
    private readonly path: string
  ) {}

  async stat(): Promise<Record<string, unknown>> {
    return toStats((await fsCall('h.stat', this.fd)) as StatReply)
  }

  async read(into: Uint8Array, offset = 0, length = into.byteLength - offset, position: number | null = null): Promise<{ bytesRead: number; buffer: Uint8Array }> {
    const bytes = new Uint8Array((await fsCall('h.read', this.fd, length, position)) as ArrayBuffer)
    into.set(bytes, offset)
    return { bytesRead: bytes.byteLength, buffer: into }
  }

  async write(data: Uint8Array | string, offset = 0, length?: number, position: number | null = null): Promise<{ bytesWritten: number }> {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data.subarray(offset, length === undefined ? undefined : offset + length)
    const bytesWritten = (await fsCall('h.write', this.fd, bytesOf(bytes), position)) as number
    return { bytesWritten }
  }

  async readFile(options?: unknown): Promise<Buffer | string> {
    return encoded((await fsCall('h.readFile', this.fd)) as ArrayBuffer, options)
  }

  async writeFile(data: string | Uint8Array): Promise<void> {
    await fsCall('h.writeFile', this.fd, bytesOf(data))
  }

  async sync(): Promise<void> {
    await fsCall('h.sync', this.fd)
  }

  async datasync(): Promise<void> {
    await fsCall('h.sync', this.fd)
  }

  async close(): Promise<void> {
    await fsCall('h.close', this.fd)
  }

  /** Chunks in order, as Node's stream yields them; a signal stops it. */
  createReadStream(options: { signal?: AbortSignal } = {}): AsyncIterable<Buffer> & { destroy(): void } {
    const fd = this.fd
    let position = 0
    let destroyed = false
    return {
      destroy: () => {
        destroyed = true
      },
      async *[Symbol.asyncIterator]() {
        while (!destroyed) {
          options.signal?.throwIfAborted()
          const bytes = (await fsCall('h.read', fd, readChunk, position)) as ArrayBuffer
          if (bytes.byteLength === 0) return
          position += bytes.byteLength
          yield new Buffer(bytes)
        }
      }
    }
  }

  toString(): string {
    return `FileHandle(${this.path})`
  }
}

const writing = (flags: unknown): boolean => typeof flags === 'string' ? /[wax+]/.test(flags) : typeof flags === 'number' && (flags & 3) !== 0

export async function open(path: string, flags: string | number = 'r', mode?: number): Promise<FileHandle> {
  const fd = (await fsCall('open', path, flags, mode)) as number
  if (writing(flags)) noteCreated(path)
  return new FileHandle(fd, path)
}

export async function readFile(path: string | FileHandle, options?: unknown): Promise<Buffer | string> {
  if (path instanceof FileHandle) return path.readFile(options)
  return encoded((await fsCall('readFile', path)) as ArrayBuffer, options)
}

export async function writeFile(path: string | FileHandle, data: string | Uint8Array, options?: unknown): Promise<void> {
  if (path instanceof FileHandle) return path.writeFile(data)
  const flag = (options as { flag?: string } | undefined)?.flag
  await fsCall('writeFile', path, bytesOf(data), flag)
  noteCreated(path)
}

export async function appendFile(path: string, data: string | Uint8Array): Promise<void> {
  await fsCall('appendFile', path, bytesOf(data))
  noteCreated(path)
}

export async function rename(from: string, to: string): Promise<void> {
  await fsCall('rename', from, to)
  noteRenamed(from, to)
}

export async function rm(path: string, options?: { force?: boolean; recursive?: boolean }): Promise<void> {
  await fsCall('rm', path, options ?? {})
  noteRemoved(path)
}

export async function rmdir(path: string): Promise<void> {
  await fsCall('rmdir', path)
  noteRemoved(path)
}

export async function mkdir(path: string, options?: { recursive?: boolean }): Promise<string | undefined> {
  const made = (await fsCall('mkdir', path, options ?? {})) as string | undefined
  noteCreated(path)
  return made
}

export async function readdir(path: string, options?: { withFileTypes?: boolean }): Promise<unknown[]> {
  const entries = (await fsCall('readdir', path)) as { name: string; kind: StatReply['kind'] }[]
  if (!options?.withFileTypes) return entries.map((entry) => entry.name)
  return entries.map((entry) => ({ name: entry.name, ...toStats({ kind: entry.kind, size: 0, mtimeMs: 0 }) }))
}

export async function stat(path: string): Promise<Record<string, unknown>> {
  return toStats((await fsCall('stat', path)) as StatReply)
}

export async function access(path: string, mode?: number): Promise<void> {
  await fsCall('access', path, mode)
}

export default { open, readFile, writeFile, appendFile, rename, rm, rmdir, mkdir, readdir, stat, access }
