import { constants, type Stats } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'

/**
 * Open a file for reading only if it is a regular file. A named pipe (FIFO) opened for reading waits for
 * a writer, forever if none comes, and its reads never end; a device (/dev/zero) never ends either. So
 * the file is opened with O_NONBLOCK, which makes open() return at once on a FIFO and changes nothing for
 * a regular file, and then the open handle itself is checked: what is checked is what will be read (a
 * stat of the path before opening could be swapped under it). O_NOCTTY: a terminal named as a file must
 * not become this process's controlling terminal. Windows has neither flag, and no FIFOs in its file system.
 */
const readFlags = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0)

/** Thrown for a path that is not a regular file; its message says what it is instead. A folder has the code reading one gives (EISDIR). */
export class NotARegularFileError extends Error {
  override name = 'NotARegularFileError'
  readonly code: string
  constructor(
    readonly path: string,
    kind: string
  ) {
    super(`${kind}, not a regular file`)
    this.code = kind === folderKind ? 'EISDIR' : 'ENOTREG'
  }
}

const folderKind = 'a folder'

/** What a path holds, in words, when it is not a regular file. */
export function fileKind(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined
  if (stats.isFIFO()) return 'a named pipe (FIFO)'
  if (stats.isDirectory()) return folderKind
  if (stats.isSocket()) return 'a socket'
  if (stats.isCharacterDevice()) return 'a character device'
  if (stats.isBlockDevice()) return 'a block device'
  return 'not a plain file'
}

/** A handle on `path` for reading, and its size; a NotARegularFileError or the system's error otherwise. */
export async function openRegularFile(path: string): Promise<{ handle: FileHandle; size: number }> {
  const handle = await open(path, readFlags)
  try {
    const stats = await handle.stat()
    const kind = fileKind(stats)
    if (kind !== undefined) throw new NotARegularFileError(path, kind)
    return { handle, size: stats.size }
  } catch (error) {
    await handle.close()
    throw error
  }
}

/** The whole of a regular file; `maxBytes` refuses a file larger than any the caller expects. */
export async function readRegularFile(path: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path)
  try {
    if (size > maxBytes) throw new FileTooLargeError(path, size, maxBytes)
    return await handle.readFile()
  } finally {
    await handle.close()
  }
}

/** readRegularFile as UTF-8 text. */
export async function readRegularTextFile(path: string, maxBytes: number): Promise<string> {
  return (await readRegularFile(path, maxBytes)).toString('utf8')
}

export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError'
  readonly code = 'EFBIG'
  constructor(
    readonly path: string,
    readonly size: number,
    readonly maxBytes: number
  ) {
    super(`${mebibytes(size)}, more than the ${mebibytes(maxBytes)} such a file may hold`)
  }
}

function mebibytes(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(bytes >= 10 * 2 ** 20 ? 0 : 1)} MiB` : `${bytes} bytes`
}
