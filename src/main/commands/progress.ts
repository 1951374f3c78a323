/**
 * Progress on stderr: one line rewritten in place on a terminal, one line per step otherwise (logs,
 * CI), so stdout stays clean for --json.
 */
export class ProgressLine {
  private readonly tty: boolean
  private width = 0

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY)
  }

  update(text: string): void {
    if (this.tty) {
      const line = text.length > (this.stream.columns ?? 120) - 1 ? `${text.slice(0, (this.stream.columns ?? 120) - 2)}…` : text
      this.stream.write(`\r${line.padEnd(this.width)}`)
      this.width = line.length
    } else {
      this.stream.write(`${text}\n`)
    }
  }

  /** Ends the in-place line, so what follows starts on a fresh one. */
  done(text?: string): void {
    if (this.tty && this.width > 0) this.stream.write(`\r${' '.repeat(this.width)}\r`)
    this.width = 0
    if (text) this.stream.write(`${text}\n`)
  }
}
