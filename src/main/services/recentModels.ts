import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { ModelSummary, RecentModel } from '../../shared/api'
import { writeJsonAtomically } from '../engine/io'

/** How many checkpoints the list keeps. */
const kept = 10

/** The checkpoints opened before, newest first, kept in one JSON file (the back end puts it beside the runs folder). */
export class RecentModels {
  constructor(private readonly file: string) {}

  async list(): Promise<RecentModel[]> {
    try {
      const list = JSON.parse(await readFile(this.file, 'utf8')) as unknown
      // Folders that are gone are left out; a damaged file is as good as none.
      return Array.isArray(list) ? (list as RecentModel[]).filter((m) => typeof m?.path === 'string' && existsSync(m.path)) : []
    } catch {
      return []
    }
  }

  /** Put a model at the top of the list, written atomically. */
  async remember(summary: ModelSummary): Promise<void> {
    const entry: RecentModel = { path: summary.path, ...(summary.modelType && { modelType: summary.modelType }), architectures: summary.architectures, openedAt: new Date().toISOString() }
    const list = [entry, ...(await this.list()).filter((m) => m.path !== summary.path)].slice(0, kept)
    await mkdir(dirname(this.file), { recursive: true })
    await writeJsonAtomically(this.file, list)
  }
}
