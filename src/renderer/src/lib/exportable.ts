import { activeRunStatuses, type RunStatus } from '@shared/runTimeline'

/**
 * Why a run in `status` offers no Export, in the user's words; undefined when it does. A failed run has
 * no trained model to write (it may have stopped before its first step), and one still training is
 * exported once it has stopped.
 */
export function exportBlocker(status: RunStatus | undefined): string | undefined {
  if (status === 'failed') return 'it failed, so there is no trained model to export; fix what its error says and start a new run'
  if (status !== undefined && activeRunStatuses.includes(status)) return `it is ${status}; export it once it has finished or been cancelled`
  return undefined
}
