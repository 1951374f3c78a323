import { makeProblem, type DataProblem, type DataProblemCode } from './problems'

/**
 * Problems kept for a report, at most `perCode` of each code: a file with a million bad rows gives a
 * report of bounded size that still says how many were left out.
 */
export class ProblemLog {
  readonly kept: DataProblem[] = []
  private readonly counts = new Map<DataProblemCode, number>()
  private errors = 0

  constructor(private readonly perCode = 100) {}

  readonly add = (problem: DataProblem): void => {
    const count = (this.counts.get(problem.code) ?? 0) + 1
    this.counts.set(problem.code, count)
    if (problem.severity === 'error') this.errors++
    if (count <= this.perCode) this.kept.push(problem)
  }

  get hasErrors(): boolean {
    return this.errors > 0
  }

  /** The kept problems, plus one line per code that had more than were kept. */
  finish(file: string): DataProblem[] {
    const omitted: DataProblem[] = []
    for (const [code, count] of this.counts) {
      if (count > this.perCode) {
        omitted.push(makeProblem(file, 'problems-omitted', 'info', `${count - this.perCode} more "${code}" problems not listed (${count} in all)`))
      }
    }
    return [...this.kept, ...omitted]
  }
}
