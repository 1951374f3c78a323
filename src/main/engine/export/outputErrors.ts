/**
 * What a user can do about the system errors an export meets while writing its output, in words that
 * name the output folder rather than the hidden folder it was being built in.
 */
const remedies: Record<string, string> = {
  ENOSPC: 'the disk is full (ENOSPC); free some space or choose a folder on another disk',
  EDQUOT: 'the disk quota is used up (EDQUOT); free some space or choose a folder on another disk',
  EACCES: 'permission denied (EACCES); choose a folder you can write to',
  EPERM: 'not permitted (EPERM); choose a folder you can write to',
  EROFS: 'the file system is read-only (EROFS); choose a folder on a writable disk'
}

/** The system error code behind `error`, looking through wrappers that kept it as their cause. */
function codeOf(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code
    if (code !== undefined && remedies[code] !== undefined) return code
  }
  return undefined
}

/**
 * `error` as a one-line message about `dir` when it is a disk or permission failure; anything else (a
 * format error, a cancellation) unchanged. `stage` says how much had happened: at 'check' nothing was
 * written; at 'write' the staging folder has been removed, and `hadFolder` says an earlier one is intact.
 */
export function outputFailure(dir: string, error: unknown, stage: 'check' | 'write', hadFolder = false): unknown {
  const code = codeOf(error)
  if (code === undefined) return error
  const outcome = stage === 'check' ? 'Nothing was written' : `Nothing was left half-written${hadFolder ? ', and the folder that was there is unchanged' : ''}`
  return new Error(`${dir}: the export could not be written: ${remedies[code]}. ${outcome}`, { cause: error })
}
