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

/** The system's own words for a failure ("ENOENT: no such file or directory, open ..."), without the stack. */
export function describeSystemError(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
