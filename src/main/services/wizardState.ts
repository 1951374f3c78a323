import { mkdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { maxWizardStateBytes, wizardState, type CallResults, type WizardState } from '../../shared/api'
import type { TrainConfig } from '../../shared/training'
import { writeJsonAtomically } from '../engine/io'
import { readRunInfo } from '../engine/training/runFolder'
import { RequestError } from './requestError'

/** What the file holds: the state and when it was saved. */
interface SavedWizard {
  savedAt: string
  state: WizardState
}

/**
 * The wizard as the page left it, one JSON file per back end (beside the runs folder, like the recent
 * models): every tab and window on this back end restores the same wizard after a reload. The last save
 * wins. A file that is missing, damaged or written by a newer version reads as no state: the wizard then
 * starts afresh, as it did before there was a file.
 */
export class WizardStateStore {
  constructor(private readonly file: string) {}

  async read(): Promise<CallResults['wizardState']> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch {
      return {}
    }
    // Twice the limit: the file is indented JSON around a state that was at most maxWizardStateBytes compact.
    if (text.length > 2 * maxWizardStateBytes + 1024) return {}
    try {
      const saved = JSON.parse(text) as Partial<SavedWizard> | null
      const state = wizardState.safeParse(saved?.state)
      if (!state.success || typeof saved?.savedAt !== 'string') return {}
      return { state: state.data, savedAt: saved.savedAt }
    } catch {
      return {}
    }
  }

  /** Keep `state` (validated again here: the service may be called without the dispatcher), written atomically. */
  async save(state: WizardState): Promise<CallResults['saveWizardState']> {
    const checked = wizardState.safeParse(state)
    if (!checked.success) throw new RequestError(`saveWizardState: ${checked.error.issues[0]?.message ?? 'not a wizard state'}`)
    const saved: SavedWizard = { savedAt: new Date().toISOString(), state: checked.data }
    await mkdir(dirname(this.file), { recursive: true })
    await writeJsonAtomically(this.file, saved)
    return { savedAt: saved.savedAt }
  }
}

/**
 * The configuration a run trains with: the queued request (resolved) while this back end holds the run
 * in its queue, else its folder's run.json. `runId` has passed the request schema, so it names a folder
 * inside the runs folder and nothing above it.
 */
export async function readRunConfig(runsDir: string, runId: string, live?: TrainConfig): Promise<CallResults['runConfig']> {
  if (live) return { config: live }
  try {
    return { config: (await readRunInfo(join(runsDir, runId))).config }
  } catch {
    throw new RequestError(`${runId}: no such run in ${runsDir} (or its run.json cannot be read)`)
  }
}
