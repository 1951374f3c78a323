import type { FileHandle } from 'node:fs/promises'
import { openRegularFile } from './regularFile'

/**
 * A checkpoint, config or weights file that cannot be used as it is. The message is one line that
 * names the file (and the tensor when one is at fault), so it can be shown to the user unchanged.
 */
export class CheckpointFormatError extends Error {
  override name = 'CheckpointFormatError'
  readonly file: string
  readonly tensor?: string

  constructor(file: string, problem: string, options: { tensor?: string; cause?: unknown } = {}) {
    const where = options.tensor === undefined ? file : `${file}: tensor ${JSON.stringify(options.tensor)}`
    super(oneLine(`${where}: ${problem}`), options.cause === undefined ? undefined : { cause: options.cause })
    this.file = file
    if (options.tensor !== undefined) this.tensor = options.tensor
  }
}

/** Messages may quote file content (names, JSON errors); a newline in them must not split the line. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ')
}

/** Plain words for the system errors people meet with files; the code stays in brackets for searching. */
const systemErrorWords: Record<string, string> = {
  ENOENT: 'not found',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many files open at once',
  EIO: 'the disk could not be read (input/output error)'
}

/** A failure in plain words ("not found (ENOENT)"), else the system's own message, without the stack. */
export function describeSystemError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code !== undefined && systemErrorWords[code] !== undefined) return `${systemErrorWords[code]} (${code})`
  return error instanceof Error ? error.message : String(error)
}

/** A weights file opened for reading, and its size; a failure is a CheckpointFormatError naming the file. */
export async function openWeightsFile(path: string): Promise<{ handle: FileHandle; size: number }> {
  try {
    return await openRegularFile(path)
  } catch (error) {
    throw new CheckpointFormatError(path, `cannot open: ${describeSystemError(error)}`, { cause: error })
  }
}
