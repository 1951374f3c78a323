import { stageSentence, stageWords, type StageProgress } from '../../shared/runStage'

/**
 * Progress on stderr: one line rewritten in place on a terminal, at most a line a second otherwise
 * (logs, CI), so stdout stays clean for --json.
 */
export class ProgressLine {
  private readonly tty: boolean
  private width = 0
  private lastLine = 0
  /** Off a terminal: the newest line held back by the rate limit, written by done() so the last state shows. */
  private pending: string | undefined

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY)
  }

  /** Show `text`; off a terminal at most one line a second (a log of a long run stays readable). */
  update(text: string): void {
    if (!this.tty) {
      const now = Date.now()
      if (now - this.lastLine < 1000) {
        this.pending = text
        return
      }
      this.lastLine = now
      this.pending = undefined
    }
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
    if (this.pending !== undefined) this.stream.write(`${this.pending}\n`)
    this.pending = undefined
    if (this.tty && this.width > 0) this.stream.write(`\r${' '.repeat(this.width)}\r`)
    this.width = 0
    if (text) this.stream.write(`${text}\n`)
  }
}

/**
 * A run's 'stage' event as the progress line shows it, in the app's words (src/shared/runStage.ts):
 * "siva train: evaluating 3/12 batches (at step 30)", "siva train: computing SVDs 2/4 layers (…query)".
 */
export function stageLine(stage: StageProgress, command = 'siva train'): string {
  const sentence = stageSentence(stage)
  const eta = stageWords(stage).etaSeconds
  // "SVDs" keeps its capitals; only the first word is lowered.
  return `${command}: ${sentence.charAt(0).toLowerCase()}${sentence.slice(1)}${eta !== undefined ? ` · ETA ${formatDuration(eta)}` : ''}`
}

/** 65 → "1:05", 3725 → "1:02:05": the CLI's durations (progress ETAs, run times). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?'
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const rest = s % 60
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(rest).padStart(2, '0')}` : `${m}:${String(rest).padStart(2, '0')}`
}

