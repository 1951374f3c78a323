import type { ReadStream } from 'node:fs'
import { describeSystemError } from '../io/errors'
import { openRegularFile } from '../io/regularFile'
import { makeProblem, place, type ProblemSink } from './problems'

/** One physical line of a text file, decoded. */
export interface SourceLine {
  /** 1-based line number in the file. */
  line: number
  text: string
  /** '\n', '\r\n', or '' for a last line without one: a quoted CSV field keeps the file's own line break. */
  ending: string
  /** The line held bytes that are not UTF-8; `text` has U+FFFD in their place. */
  invalidUtf8: boolean
}

export interface LineReadOptions {
  onProblem: ProblemSink
  /** Called after each chunk read, so a UI can show a bar for a file of any size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void
  signal?: AbortSignal
  /**
   * A line (or CSV record) longer than this is reported and skipped rather than held: a file with no line
   * breaks, or a quote never closed, must not take all the memory there is. Default 64 MiB.
   */
  maxLineBytes?: number
}

export const defaultMaxLineBytes = 64 * 2 ** 20

const newline = 0x0a
const carriageReturn = 0x0d

/**
 * The lines of a UTF-8 file, read as a stream so memory stays flat whatever the file's size (only the
 * current chunk and a line that spans chunks are held).
 *
 * Lines are cut on the 0x0A byte before decoding. In UTF-8 that byte never occurs inside a multi-byte
 * character, so every cut is on a character boundary and each line decodes on its own: this is what
 * `TextDecoder`'s `stream: true` would give, and it also tells which line held the bad bytes.
 */
export async function* readLines(file: string, options: LineReadOptions): AsyncGenerator<SourceLine> {
  const { onProblem, onProgress, signal } = options
  signal?.throwIfAborted()
  let totalBytes: number
  let input: ReadStream
  try {
    // A regular file only: a FIFO or a device would never end.
    const opened = await openRegularFile(file)
    totalBytes = opened.size
    input = opened.handle.createReadStream({ signal })
  } catch (error) {
    onProblem(makeProblem(file, 'file-unreadable', 'error', `${place(file)}: ${describeSystemError(error)}`))
    return
  }

  // ignoreBOM: the decoder would otherwise drop a BOM silently; the first line's BOM is handled below.
  const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  const lenient = new TextDecoder('utf-8', { ignoreBOM: true })
  const decode = (bytes: Uint8Array, lineNumber: number): SourceLine => {
    let end = bytes.length
    let ending = ''
    if (end > 0 && bytes[end - 1] === newline) {
      end--
      ending = '\n'
      if (end > 0 && bytes[end - 1] === carriageReturn) {
        end--
        ending = '\r\n'
      }
    }
    const body = bytes.subarray(0, end)
    try {
      return { line: lineNumber, text: strict.decode(body), ending, invalidUtf8: false }
    } catch {
      return { line: lineNumber, text: lenient.decode(body), ending, invalidUtf8: true }
    }
  }

  const maxLineBytes = options.maxLineBytes ?? defaultMaxLineBytes
  let bytesRead = 0
  let lineNumber = 0
  let pending: Buffer[] = [] // a line that started in an earlier chunk
  let pendingBytes = 0
  let skipping = false // inside a line already reported as too long
  let first = true
  for await (const chunk of input as AsyncIterable<Buffer>) {
    bytesRead += chunk.length
    let start = 0
    if (first) {
      first = false
      if (hasUtf16Bom(chunk)) {
        onProblem(
          makeProblem(file, 'utf16-bom', 'error', `${place(file)} is saved as UTF-16; re-save it as UTF-8 (in Excel: "CSV UTF-8")`)
        )
        return
      }
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
        onProblem(makeProblem(file, 'bom', 'info', `${place(file)} starts with a UTF-8 byte order mark; it was ignored`, { row: 1 }))
        start = 3
      }
      const cr = chunk.indexOf(carriageReturn, start)
      if (chunk.indexOf(newline, start) === -1 && cr !== -1 && cr < chunk.length - 1) {
        onProblem(
          makeProblem(file, 'line-endings-cr', 'error', `${place(file)}: lines end with a lone carriage return (classic Mac OS); re-save it with LF or CRLF line endings`)
        )
        return
      }
    }
    for (let cut = chunk.indexOf(newline, start); cut !== -1; cut = chunk.indexOf(newline, start)) {
      const piece = chunk.subarray(start, cut + 1)
      start = cut + 1
      lineNumber++
      if (skipping || pendingBytes + piece.length > maxLineBytes) {
        if (!skipping) reportTooLong(lineNumber)
        skipping = false
        pending = []
        pendingBytes = 0
        continue
      }
      const bytes = pending.length === 0 ? piece : Buffer.concat([...pending, piece])
      pending = []
      pendingBytes = 0
      yield decode(bytes, lineNumber)
    }
    if (start < chunk.length && !skipping) {
      pending.push(chunk.subarray(start))
      pendingBytes += chunk.length - start
      if (pendingBytes > maxLineBytes) {
        reportTooLong(lineNumber + 1)
        skipping = true
        pending = []
        pendingBytes = 0
      }
    }
    onProgress?.(bytesRead, totalBytes)
  }
  if (pending.length > 0) yield decode(Buffer.concat(pending), lineNumber + 1)

  function reportTooLong(line: number): void {
    const limit = maxLineBytes >= 2 ** 20 ? `${Math.round(maxLineBytes / 2 ** 20)} MiB` : `${maxLineBytes} bytes`
    onProblem(makeProblem(file, 'line-too-long', 'error', `${place(file)}, line ${line}: longer than ${limit}; skipped (is this the data file you meant?)`, { row: line }))
  }
}

/** FF FE or FE FF: what Excel's "Unicode Text" and Windows Notepad's "Unicode" write. */
function hasUtf16Bom(chunk: Buffer): boolean {
  return (chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff)
}
