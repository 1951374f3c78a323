import { createHash, randomBytes } from 'node:crypto'
import { lstat, readdir, rename, rm } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { processAlive } from '../io/processes'

/**
 * The hidden folders an export works in beside its output are named so that a later export can tell
 * whose they were: the exporting process's id, its machine (a process id says nothing about another
 * machine's exports on a shared disk), then a random part.
 */
const thisHost = createHash('sha256').update(hostname()).digest('hex').slice(0, 8)

/** A fresh tag for one export's hidden folders. */
export const exportTag = (): string => `${process.pid}-${thisHost}-${randomBytes(4).toString('hex')}`
export const stagingName = (name: string, tag: string): string => `.${name}.siva-export-${tag}.tmp`
/** A forced export moves the folder it replaces here first, and removes it once the new one is in place. */
export const asideName = (name: string, tag: string): string => `.${name}.siva-replaced-${tag}.tmp`

/** Name, kind, process id and (in names from before the machine was recorded, absent) machine. */
const leftover = /^\.(.+)\.siva-(export|replaced)-(\d+)-(?:([0-9a-f]{8})-)?[0-9a-f]+\.tmp$/

/**
 * Remove what killed exports left in `parent`: their staging folders, and folders a killed forced export
 * had moved aside (put back where nothing took their place). A folder whose process still runs belongs to
 * an export in progress, perhaps in this very process, and is never touched; nor is one another machine
 * made, whose processes this one cannot see.
 */
export async function removeLeftovers(parent: string): Promise<void> {
  let entries: string[]
  try {
    entries = await readdir(parent)
  } catch {
    return // no folder yet: nothing can be left over in it
  }
  for (const entry of entries) {
    const match = leftover.exec(entry)
    if (!match || (match[4] !== undefined && match[4] !== thisHost) || processAlive(Number(match[3]))) continue
    const path = join(parent, entry)
    const name = match[1]!
    try {
      if (match[2] === 'replaced' && !(await exists(join(parent, name)))) await rename(path, join(parent, name))
      else await rm(path, { recursive: true, force: true })
    } catch {
      // Best effort: a leftover that cannot be removed (a read-only disk) must not stop the export that
      // found it; writing will then fail with its own, clearer reason.
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false
  )
}
