import type { FileHandle } from 'node:fs/promises'
import { CheckpointFormatError, describeSystemError } from './errors'

/** One positional read is capped by the OS (about 2 GiB on Linux); larger ranges take several. */
const maxChunk = 1 << 30

/**
 * Read exactly `length` bytes at `position` into a fresh (hence aligned) buffer. A file that ends
 * early was truncated or replaced after it was opened: that is the file's fault, not the caller's.
 */
export async function readExactly(
  handle: FileHandle,
  file: string,
  position: number,
  length: number,
  tensor?: string
): Promise<Uint8Array> {
  const bytes = new Uint8Array(length)
  let done = 0
  while (done < length) {
    let bytesRead: number
    try {
      ;({ bytesRead } = await handle.read(bytes, done, Math.min(length - done, maxChunk), position + done))
    } catch (error) {
      throw new CheckpointFormatError(file, `cannot read ${length} bytes at offset ${position}: ${describeSystemError(error)}`, { tensor, cause: error })
    }
    if (bytesRead === 0) {
      throw new CheckpointFormatError(
        file,
        `file ends at byte ${position + done}, before the ${length} bytes at offset ${position} were read (truncated or changed since it was opened)`,
        { tensor }
      )
    }
    done += bytesRead
  }
  return bytes
}
