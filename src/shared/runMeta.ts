/**
 * A run's display name and notes (the updateRun call): their limits and what a name may hold, for the
 * back end that stores them and the Runs view that edits them. updateRun's schema in api.ts checks the
 * same limits (a test holds the two together).
 */
export const runNameLimit = 100
export const runNotesLimit = 4000

/** Control characters (a line break, an escape) would break every place that shows a name on one line. */
export const oneLine = /^[^\p{Cc}\u2028\u2029]*$/u

/** Why a name cannot be stored, or undefined when it can; an empty name means "back to the run's id". */
export function runNameProblem(name: string): string | undefined {
  if (name.length > runNameLimit) return `a run name is at most ${runNameLimit} characters`
  if (!oneLine.test(name)) return 'a run name is one line of text, without control characters'
  return undefined
}
