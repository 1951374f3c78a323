import { randomBytes } from 'node:crypto'
import { open, rename, rm, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { describeSystemError } from './errors'

/**
 * Write `path` through a temporary file in the same folder, then rename it into place: readers see
 * the old file or the complete new one, never a half-written one, and a failure leaves the old file
 * as it was. The temp file is removed on every failure.
 */
export async function writeFileAtomically(path: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  // Same folder, so the rename stays on one file system and is atomic.
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  let handle: FileHandle
  try {
    handle = await open(temp, 'wx')
  } catch (error) {
    throw cannotWrite(path, error)
  }
  let closed = false
  try {
    await write(handle)
    // Flush before the rename: otherwise a crash right after it can leave an empty file in place.
    await handle.sync()
    await handle.close()
    closed = true
    await rename(temp, path)
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined)
    await rm(temp, { force: true })
    throw (error as NodeJS.ErrnoException).syscall ? cannotWrite(path, error) : error
  }
}

/** A system error names the temp file; the user asked for `path`, so the message names that. */
function cannotWrite(path: string, error: unknown): Error {
  const wrapped: NodeJS.ErrnoException = new Error(`${path}: cannot write: ${describeSystemError(error)}`, { cause: error })
  wrapped.code = (error as NodeJS.ErrnoException).code
  return wrapped
}

/** One write call is capped by the OS (about 2 GiB on Linux) and may also write less than asked. */
const maxChunk = 1 << 30

/** Write all of `bytes` at the handle's current position. */
export async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, Math.min(bytes.byteLength - done, maxChunk))
    done += bytesWritten
  }
}
