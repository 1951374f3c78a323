import type { StatReply } from '../protocol'

/** A host stat as the engine reads it (isFile(), size, …). */
export function toStats(reply: StatReply): Record<string, unknown> {
  return {
    size: reply.size,
    mtimeMs: reply.mtimeMs,
    mtime: new Date(reply.mtimeMs),
    isFile: () => reply.kind === 'file',
    isDirectory: () => reply.kind === 'dir',
    isFIFO: () => reply.kind === 'fifo',
    isSocket: () => reply.kind === 'socket',
    isCharacterDevice: () => reply.kind === 'char',
    isBlockDevice: () => reply.kind === 'block',
    isSymbolicLink: () => reply.kind === 'symlink'
  }
}
