import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runNameProblem, runNotesLimit } from '../../shared/runMeta'
import { writeJsonAtomically } from '../engine/io'

/**
 * What people say of a run, beside what it is: a display name and notes, kept in the run folder's own
 * small file. run.json (the configuration the run trains with) and events.jsonl (what happened) are the
 * trainer's and are never touched; this file is written whole, through a temp file and a rename.
 */
export interface RunMeta {
  name?: string
  notes?: string
}

export const runMetaFile = 'studio.json'

/** A run's name and notes as its folder holds them; nothing when the file is absent, unreadable or not ours. */
export async function readRunMeta(dir: string): Promise<RunMeta> {
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(join(dir, runMetaFile), 'utf8'))
  } catch {
    return {}
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {}
  // A hand-edited file is taken for what is valid in it, within the same limits as an update.
  const { name, notes } = parsed as Record<string, unknown>
  return {
    ...(typeof name === 'string' && runNameProblem(name) === undefined && name.trim() !== '' && { name: name.trim() }),
    ...(typeof notes === 'string' && notes.length <= runNotesLimit && notes.trim() !== '' && { notes })
  }
}

/**
 * The meta after an update: a field given replaces the stored one, an empty (or blank) one removes it,
 * one left out stays as it was.
 */
export function mergeRunMeta(stored: RunMeta, update: RunMeta): RunMeta {
  const next: RunMeta = { ...stored }
  for (const key of ['name', 'notes'] as const) {
    const value = update[key]
    if (value === undefined) continue
    const kept = key === 'name' ? value.trim() : value
    if (kept.trim() === '') delete next[key]
    else next[key] = kept
  }
  return next
}

export async function writeRunMeta(dir: string, meta: RunMeta): Promise<void> {
  await writeJsonAtomically(join(dir, runMetaFile), { ...(meta.name !== undefined && { name: meta.name }), ...(meta.notes !== undefined && { notes: meta.notes }) })
}
