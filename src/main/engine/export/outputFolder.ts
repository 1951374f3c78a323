import { lstat, mkdir, rename, rm, statfs, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { asideName, exportTag, stagingName } from './leftovers'
import { outputFailure } from './outputErrors'
import { exportMarker, refuseUnmarked, type Destination } from './outputGuard'

/**
 * Output folders written whole or not at all: built in a hidden sibling folder and renamed into place,
 * after a free-space check; an existing folder is replaced only when asked, and only one an earlier
 * export wrote (outputGuard.ts says which folders may be written to at all).
 */

/** Room kept free beyond the estimate: a full disk must not be reached by the last file's header. */
const spareBytes = 64 * 1024 * 1024

export async function checkFreeSpace(parent: string, bytes: number): Promise<void> {
  let free: number
  try {
    await mkdir(parent, { recursive: true })
    const fs = await statfs(parent)
    free = fs.bavail * fs.bsize
  } catch (error) {
    throw outputFailure(parent, error, 'check')
  }
  if (free < bytes + spareBytes) throw new Error(`${parent}: not enough free disk space for the export: it needs about ${mib(bytes + spareBytes)} MiB, ${mib(free)} MiB are free`)
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)

/**
 * Build the destination in a hidden sibling folder and rename it into place when `write` has finished,
 * with the export marker inside. With force, an existing folder is moved aside first and removed only
 * after the new one is in place. On any failure the staging folder is removed and what was there before
 * is left as it was; disk and permission failures are said in words naming the output folder.
 */
export async function writeInPlace(destination: Destination, options: { force: boolean; kind: string }, write: (staging: string) => Promise<string[]>): Promise<string[]> {
  const { dir, real } = destination
  const parent = dirname(real)
  const tag = exportTag()
  const staging = join(parent, stagingName(basename(real), tag))
  const hadFolder = await lstat(real).then(
    () => true,
    () => false
  )
  try {
    await mkdir(parent, { recursive: true })
    await mkdir(staging)
  } catch (error) {
    throw outputFailure(dir, error, 'check')
  }
  try {
    const files = await write(staging)
    await writeFile(join(staging, exportMarker), `${JSON.stringify({ writtenBy: 'siva export', kind: options.kind })}\n`)
    await moveIntoPlace(staging, destination, options.force, tag)
    return files
  } catch (error) {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined)
    throw outputFailure(dir, error, 'write', hadFolder)
  }
}

async function moveIntoPlace(staging: string, { dir, real }: Destination, force: boolean, tag: string): Promise<void> {
  try {
    await rename(staging, real)
    return
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error
    // The folder was empty or absent when checked: something else has written into it since.
    if (!force) throw new Error(`${dir}: something else wrote into this folder while the export ran (${code}); nothing in it was replaced; export again to a new folder`, { cause: error })
  }
  // Checked again: what is there now may not be the earlier export that was checked.
  await refuseUnmarked(dir, real)
  const aside = join(dirname(real), asideName(basename(real), tag))
  await rename(real, aside)
  try {
    await rename(staging, real)
  } catch (error) {
    await rename(aside, real).catch(() => undefined)
    throw error
  }
  // The new folder is in place: an aside that cannot be removed now is a leftover, which the first export
  // after this process has ended removes.
  await rm(aside, { recursive: true, force: true }).catch(() => undefined)
}
