import { randomBytes } from 'node:crypto'
import { lstat, mkdir, readdir, rename, rm, statfs } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { describeSystemError } from '../io/errors'

/**
 * Output folders written whole or not at all: built in a hidden sibling folder and renamed into place,
 * after a free-space check; an existing folder is replaced only when asked.
 */

/** Room kept free beyond the estimate: a full disk must not be reached by the last file's header. */
const spareBytes = 64 * 1024 * 1024

/** An output folder may be new, or (with force) an existing folder; never a file, never the run folder. */
export async function checkDestination(dir: string, force: boolean): Promise<void> {
  let existing
  try {
    existing = await lstat(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new Error(`${dir}: cannot check the destination: ${describeSystemError(error)}`, { cause: error })
  }
  if (!existing.isDirectory()) throw new Error(`${dir}: exists and is not a folder`)
  if (!force && (await readdir(dir)).length > 0) throw new Error(`${dir}: already exists; choose a new folder or pass --force to replace it`)
}

export async function checkFreeSpace(parent: string, bytes: number): Promise<void> {
  await mkdir(parent, { recursive: true })
  const fs = await statfs(parent)
  const free = fs.bavail * fs.bsize
  if (free < bytes + spareBytes) throw new Error(`${parent}: not enough free disk space for the export: it needs about ${mib(bytes + spareBytes)} MiB, ${mib(free)} MiB are free`)
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)

/**
 * Build `dir` in a hidden sibling folder and rename it into place when `write` has finished. With force,
 * an existing folder is moved aside first and removed only after the new one is in place.
 */
export async function writeInPlace(dir: string, force: boolean, write: (staging: string) => Promise<string[]>): Promise<string[]> {
  const parent = dirname(dir)
  await mkdir(parent, { recursive: true })
  await removeStale(parent, basename(dir))
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`
  const staging = join(parent, `.${basename(dir)}.siva-export-${tag}.tmp`)
  await mkdir(staging)
  try {
    const files = await write(staging)
    let aside: string | undefined
    try {
      await rename(staging, dir)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (!(force && (code === 'ENOTEMPTY' || code === 'EEXIST'))) throw error
      aside = join(parent, `.${basename(dir)}.siva-replaced-${tag}.tmp`)
      await rename(dir, aside)
      await rename(staging, dir)
    }
    if (aside) await rm(aside, { recursive: true, force: true })
    return files
  } catch (error) {
    await rm(staging, { recursive: true, force: true })
    throw error
  }
}

/** Staging folders left by an export that was killed (its process is gone) are removed. */
async function removeStale(parent: string, name: string): Promise<void> {
  const pattern = new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.siva-(?:export|replaced)-(\\d+)-[0-9a-f]+\\.tmp$`)
  for (const entry of await readdir(parent)) {
    const match = pattern.exec(entry)
    if (!match || processAlive(Number(match[1]))) continue
    // A killed replace may have moved the old folder aside without putting the new one in: put it back.
    if (entry.includes('.siva-replaced-') && !(await exists(join(parent, name)))) await rename(join(parent, entry), join(parent, name))
    else await rm(join(parent, entry), { recursive: true, force: true })
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false
  )
}

/** Whether a process with this id still runs (one we may not signal counts: it exists). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
