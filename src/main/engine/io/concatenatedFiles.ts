import type { FileHandle } from 'node:fs/promises'
import { CheckpointFormatError, describeSystemError } from './errors'
import { readExactly } from './fileRange'
import { openRegularFile } from './regularFile'

interface Part {
  path: string
  size: number
  /** Byte position of this file's first byte in the concatenation. */
  start: number
  handle: FileHandle
}

/**
 * Several files read as one byte stream, the way a tfjs weights group lays its data across shard
 * files: a range may start in one file and end in the next.
 */
export class ConcatenatedFiles {
  private constructor(
    private readonly parts: Part[],
    readonly size: number
  ) {}

  /** Open every file (all must exist); `owner` is the file that lists them, named in errors. */
  static async open(owner: string, paths: readonly string[]): Promise<ConcatenatedFiles> {
    const parts: Part[] = []
    let start = 0
    try {
      for (const path of paths) {
        let opened: { handle: FileHandle; size: number }
        try {
          opened = await openRegularFile(path)
        } catch (error) {
          throw new CheckpointFormatError(owner, `weights file ${path} cannot be opened: ${describeSystemError(error)}`, { cause: error })
        }
        const { handle, size } = opened
        parts.push({ path, size, start, handle })
        start += size
      }
    } catch (error) {
      await Promise.all(parts.map((part) => part.handle.close()))
      throw error
    }
    return new ConcatenatedFiles(parts, start)
  }

  /** The file holding byte `position` of the concatenation, and the position inside it. */
  locate(position: number): { path: string; offset: number } {
    const part = this.parts.find((p) => position < p.start + p.size) ?? this.parts.at(-1)
    if (!part) throw new RangeError('no files to locate a byte in')
    return { path: part.path, offset: position - part.start }
  }

  async read(position: number, length: number, tensor?: string): Promise<Uint8Array> {
    const bytes = new Uint8Array(length)
    let done = 0
    for (const part of this.parts) {
      if (done === length) break
      const from = position + done
      if (from >= part.start + part.size) continue
      const take = Math.min(length - done, part.start + part.size - from)
      bytes.set(await readExactly(part.handle, part.path, from - part.start, take, tensor), done)
      done += take
    }
    if (done < length) {
      throw new CheckpointFormatError(this.parts.at(-1)?.path ?? '(no weights files)', `weights end before byte ${position + length} of the group`, { tensor })
    }
    return bytes
  }

  async close(): Promise<void> {
    await Promise.all(this.parts.map((part) => part.handle.close()))
  }
}
