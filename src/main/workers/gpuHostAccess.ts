import { lstat, realpath } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'

/**
 * What the GPU host page may touch on this machine, for one run: it writes only the run folder (and the
 * temp siblings the engine builds it in, `.<name>.…` beside it) and reads only that, the model folder
 * (with its Hugging Face cache repository, whose snapshot files link into ../../blobs) and the data files.
 * Paths are checked after resolving symbolic links (realpath of the deepest existing part), so a link
 * planted inside the run folder cannot lead out of it. A page that asks for anything else gets an error
 * naming the path; nothing outside is opened.
 */

export interface RunAccessOptions {
  runDir: string
  model: string
  /** The data file(s) the run reads: training and, where given, validation. */
  dataFiles: string[]
}

export class AccessDeniedError extends Error {
  override name = 'AccessDeniedError'
  readonly code = 'EACCES'
  constructor(path: string, why: string) {
    super(`${path}: the GPU training window may not ${why}`)
  }
}

/** realpath of a path that may not exist yet: its deepest existing ancestor resolved, the rest appended. */
export async function realPathOf(path: string): Promise<string> {
  const rest: string[] = []
  let at = resolve(path)
  for (;;) {
    try {
      return join(await realpath(at), ...rest)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      // A link whose target is missing exists, but cannot be followed: refuse it rather than write through it.
      const link = await lstat(at).catch(() => undefined)
      if (link?.isSymbolicLink()) throw new AccessDeniedError(path, 'follow a dangling link')
      const parent = dirname(at)
      if (parent === at) throw error
      rest.unshift(basename(at))
      at = parent
    }
  }
}

const inside = (path: string, root: string): boolean => {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..')
}

interface Roots {
  run: string
  runParent: string
  runName: string
  read: string[]
}

export class RunAccess {
  private roots: Promise<Roots>

  constructor(readonly options: RunAccessOptions) {
    this.roots = (async () => {
      const run = await realPathOf(options.runDir)
      const model = await realPathOf(options.model)
      const read = [model, ...(await Promise.all(options.dataFiles.map(realPathOf)))]
      // A Hub snapshot (…/models--org--name/snapshots/<rev>) keeps its files as links into …/blobs.
      if (basename(dirname(model)) === 'snapshots') read.push(dirname(dirname(model)))
      return { run, runParent: dirname(run), runName: basename(run), read }
    })()
  }

  /** The real path to use for a write (create, append, rename, remove), or AccessDeniedError. */
  async writable(path: string): Promise<string> {
    if (!isAbsolute(path)) throw new AccessDeniedError(path, 'use a relative path')
    const { run, runParent, runName } = await this.roots
    const real = await realPathOf(path)
    if (inside(real, run)) return real
    // The engine builds a new run folder beside it, then renames it into place.
    const top = relative(runParent, real).split(sep)[0]!
    if (inside(real, runParent) && top.startsWith(`.${runName}.`) && top !== '..') return real
    throw new AccessDeniedError(path, 'write outside the run folder')
  }

  /** mkdir may also make the folders above the run folder (a new run in a new parent). */
  async creatable(path: string): Promise<string> {
    const { run } = await this.roots
    const real = await realPathOf(path)
    if (inside(run, real)) return real
    return this.writable(path)
  }

  /** The real path to read, or AccessDeniedError. */
  async readable(path: string): Promise<string> {
    if (!isAbsolute(path)) throw new AccessDeniedError(path, 'use a relative path')
    const { read } = await this.roots
    const real = await realPathOf(path)
    if (read.some((root) => inside(real, root))) return real
    // The folders above the run folder are read too (the engine lists its parent for leftovers of itself).
    return this.writable(path).catch(() => {
      throw new AccessDeniedError(path, 'read outside the run, model and data')
    })
  }

  /** Whether `path` is one of the run folder's parents, which may be listed (not read further). */
  async isRunParent(path: string): Promise<boolean> {
    const { runParent } = await this.roots
    return (await realPathOf(path)) === runParent
  }
}
