import { constants } from 'node:fs'
import { access, lstat, readdir, realpath } from 'node:fs/promises'
import { homedir } from 'node:os'
import { basename, dirname, isAbsolute, join, parse, relative, resolve, sep } from 'node:path'
import { describeSystemError } from '../io/errors'
import { removeLeftovers } from './leftovers'
import { outputFailure } from './outputErrors'
import { ExportRefusal } from '../../../shared/exportOptions'

/**
 * What an export may write to. A forced export replaces a whole folder, so it may replace only one that an
 * earlier export wrote (the marker file every export puts inside its output), and never a folder the run
 * depends on (its base model, the run itself) nor one holding such a folder (the runs folder, home, the
 * root). Paths are compared after every symbolic link is resolved: a link must not lead around a rule.
 */

/** The file every export output holds; only a folder holding it may be replaced. */
export const exportMarker = '.siva-export'

/** A folder an export never replaces, nor any folder that holds it; `what` names it for the message. */
export interface KeptFolder {
  path: string
  what: string
}

/** An output folder as the user gave it (for messages) and with every link resolved (where the work happens). */
export interface Destination {
  dir: string
  real: string
}

/**
 * Check that `dir` may receive an export and say where it really is. Leftovers of killed exports beside
 * it are removed first (a killed forced export's old folder is put back), whether or not the export then
 * goes ahead.
 */
export async function checkDestination(dir: string, options: { force: boolean; keep?: KeptFolder[] }): Promise<Destination> {
  const given = resolve(dir)
  const real = await realPathOf(given)
  await removeLeftovers(dirname(real))
  await refuseKept(given, real, [...(options.keep ?? []), { path: homedir(), what: 'your home folder' }, { path: parse(real).root, what: 'the file system root' }])

  let existing
  try {
    existing = await lstat(given)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw cannotCheck(given, error)
  }
  if (existing?.isSymbolicLink()) throw new Error(`${given}: is a symbolic link; give the folder it points to, or a new folder`)
  if (existing && !existing.isDirectory()) throw new Error(`${given}: exists and is not a folder`)
  const entries = existing ? await readdir(real).catch((error: unknown) => Promise.reject(cannotCheck(given, error))) : []
  if (entries.length > 0) {
    await refuseUnmarked(given, real)
    if (!options.force) throw new ExportRefusal('force', (w) => `${given}: already exists; ${w.replace}`)
  }
  // The output is renamed into its parent: that (or the nearest folder that exists) must be writable.
  try {
    await access(await nearestExisting(dirname(real)), constants.W_OK)
  } catch (error) {
    throw outputFailure(given, error, 'check')
  }
  return { dir: given, real }
}

/** A non-empty folder without the marker is someone's own: no export replaces it, forced or not. */
export async function refuseUnmarked(dir: string, real: string): Promise<void> {
  const marker = await lstat(join(real, exportMarker)).catch(() => undefined)
  if (!marker?.isFile()) throw new Error(`${dir} was not written by siva export (no ${exportMarker} marker); choose an empty or new folder`)
}

/** Whether `inner` lies inside `outer` (both absolute, links resolved); path.relative, not a string prefix. */
export function isInside(outer: string, inner: string): boolean {
  const rel = relative(outer, inner)
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)
}

async function refuseKept(given: string, real: string, keep: KeptFolder[]): Promise<void> {
  // A kept folder that cannot be resolved (unreadable, say) is compared as written: it is still kept.
  const kept = await Promise.all(keep.map(async (k) => ({ ...k, path: resolve(k.path), real: await realPathOf(resolve(k.path)).catch(() => resolve(k.path)) })))
  // The folder itself first: '/' is the file system root before it is a folder holding the run.
  for (const k of kept) if (k.real === real) throw new Error(`${given}: is ${k.what}; an export never replaces it; choose another folder`)
  for (const k of kept) if (isInside(real, k.real)) throw new Error(`${given}: holds ${k.what} (${k.path}); an export never replaces it; choose another folder`)
}

/** `path` with every link resolved; for a path that does not exist yet, its nearest existing ancestor's. */
async function realPathOf(path: string): Promise<string> {
  const missing: string[] = []
  for (let at = path; ; at = dirname(at)) {
    try {
      return join(await realpath(at), ...missing.reverse())
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(at) === at) throw cannotCheck(path, error)
      missing.push(basename(at))
    }
  }
}

/** A failure to look at the destination: in the export's words when it is a disk or permission one. */
function cannotCheck(dir: string, error: unknown): unknown {
  const failure = outputFailure(dir, error, 'check')
  return failure !== error ? failure : new Error(`${dir}: cannot check the destination: ${describeSystemError(error)}`, { cause: error })
}

async function nearestExisting(path: string): Promise<string> {
  for (let at = path; ; at = dirname(at)) {
    if (await lstat(at).then(() => true, () => false)) return at
    if (dirname(at) === at) return at
  }
}
