/**
 * Hugging Face Hub ids (`org/name`, `name`, with an optional `@revision`) resolved in the local Hugging Face
 * cache, laid out as huggingface_hub 0.24 keeps it (constants.py, file_download.py, utils/_cache_manager.py):
 *
 *   $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub (HF_HOME: else $XDG_CACHE_HOME/huggingface,
 *   else ~/.cache/huggingface)
 *     models--{org}--{name}/
 *       refs/{revision}            the commit a branch or tag points at (refs/pr/1 nests)
 *       snapshots/{commit}/{file}  a link into ../../blobs/{sha256 or git sha1} (a plain file where links are not allowed)
 *       blobs/{sha}
 *
 * A revision is a name in refs/ or a 40-hex commit; it defaults to `main`. Nothing is downloaded here: a model
 * or file not in the cache is an error that says so, and how to fill the cache with huggingface-cli.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile, realpath, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import type { CachedModelRevision } from '../../../shared/api'

export interface HubReference {
  /** `org/name` or a canonical id without an organisation (`gpt2`). */
  id: string
  /** As given after `@`; undefined means `main`. */
  revision?: string
}

export interface ResolvedHubModel {
  id: string
  /** The revision asked for (`main` by default). */
  revision: string
  commit: string
  /** The cache folder ($HF_HUB_CACHE or its default). */
  cache: string
  /** models--org--name inside it. */
  repoFolder: string
  /** snapshots/<commit>: the folder every reader is given. */
  snapshot: string
}

export type Environment = Record<string, string | undefined>

const defaultRevision = 'main'
const commitPattern = /^[0-9a-f]{40}$/
/** A namespace or a repo name: ASCII letters, digits, `-`, `_`, `.`, starting and ending with a letter, digit or `_` (huggingface_hub's REPO_ID_REGEX). */
const namePart = /^(?:[A-Za-z0-9_]|[A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_])$/
/** A branch or tag: Git's names, as far as a cache file name can hold them (segments, no `..`, no leading dot). */
const revisionSegment = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/
const maxNameLength = 96
const maxRevisionLength = 255

/** Why `text` is not a Hub id, or undefined if it is one. */
export function hubIdProblem(text: string): string | undefined {
  if (text.length === 0) return 'it is empty'
  if (text.length > 2 * maxNameLength + 1 + 1 + maxRevisionLength) return 'it is too long'
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'it holds a control character'
  const at = text.indexOf('@')
  const id = at < 0 ? text : text.slice(0, at)
  const revision = at < 0 ? undefined : text.slice(at + 1)
  const parts = id.split('/')
  if (parts.length > 2) return 'a Hub id has at most one / (org/name)'
  for (const part of parts) {
    if (part.length === 0) return 'the organisation or the name is empty'
    if (part.length > maxNameLength) return `a name has at most ${maxNameLength} characters`
    if (!namePart.test(part)) return `'${part}' may hold only letters, digits, '-', '_' and '.', and may not start or end with '-' or '.'`
  }
  if (id.includes('--') || id.includes('..')) return "a Hub id may not hold '--' or '..'"
  if (id.endsWith('.git')) return "a Hub id may not end in '.git'"
  if (revision !== undefined) {
    if (revision.length === 0) return 'the revision after @ is empty'
    if (revision.length > maxRevisionLength) return `a revision has at most ${maxRevisionLength} characters`
    if (!revision.split('/').every((s) => revisionSegment.test(s) && !s.endsWith('.lock') && !s.includes('..'))) return `'${revision}' is not a branch, tag or commit name`
  }
  return undefined
}

/** `org/name@rev` → its parts, or undefined when `text` is not shaped as a Hub id (hubIdProblem says why). */
export function parseHubId(text: string): HubReference | undefined {
  if (hubIdProblem(text) !== undefined) return undefined
  const at = text.indexOf('@')
  return at < 0 ? { id: text } : { id: text.slice(0, at), revision: text.slice(at + 1) }
}

/** Written as a path rather than an id: `./x`, `../x`, `~/x`, absolute, a backslash, or more than one `/` before any `@`. */
export function looksLikePath(text: string): boolean {
  if (isAbsolute(text) || text.startsWith('.') || text.startsWith('~') || text.includes('\\')) return true
  const id = text.includes('@') ? text.slice(0, text.indexOf('@')) : text
  return id.split('/').length > 2
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path
}

const setting = (env: Environment, name: string): string | undefined => {
  const value = env[name]
  return value === undefined || value === '' ? undefined : value
}

/** The cache folder huggingface_hub uses with this environment. */
export function hubCacheFolder(env: Environment = process.env): string {
  const explicit = setting(env, 'HF_HUB_CACHE') ?? setting(env, 'HUGGINGFACE_HUB_CACHE')
  if (explicit !== undefined) return resolve(expandHome(explicit))
  const home = setting(env, 'HF_HOME') ?? join(setting(env, 'XDG_CACHE_HOME') ?? join(homedir(), '.cache'), 'huggingface')
  return resolve(expandHome(home), 'hub')
}

/** HF_HUB_OFFLINE (else TRANSFORMERS_OFFLINE) set to 1, on, yes or true, in any case (constants._is_true). */
export function hubOffline(env: Environment = process.env): boolean {
  const value = setting(env, 'HF_HUB_OFFLINE') ?? setting(env, 'TRANSFORMERS_OFFLINE')
  return value !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(value.toUpperCase())
}

/** models--org--name (repo_folder_name). */
export function repoFolderName(id: string): string {
  return `models--${id.split('/').join('--')}`
}

/** The model, revision or file is not in the cache, or the cache is inconsistent; the message says which and what to do. */
export class HubCacheError extends Error {
  override name = 'HubCacheError'
  readonly code = 'ENOENT'
}

/** How to get what is missing: the cache is never filled by SiVA Studio itself (yet). */
export function downloadHint(id: string, revision: string | undefined, env: Environment = process.env): string {
  const command = `huggingface-cli download ${id}${revision !== undefined && revision !== defaultRevision ? ` --revision ${revision}` : ''}`
  if (hubOffline(env)) return `HF_HUB_OFFLINE is set, so only the cache is looked at; on a machine with access to the Hub, fill the same cache with '${command}'`
  return `downloading from the Hub inside SiVA Studio is not available yet; fill the cache with '${command}' (it uses the same cache folder)`
}

const isFile = async (path: string): Promise<boolean> =>
  stat(path).then(
    (s) => s.isFile(),
    () => false
  )
const isFolder = async (path: string): Promise<boolean> =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false
  )

/** Every file under refs/, as huggingface_hub names them (`main`, `pr/1`), with the commit each holds. */
async function readRefs(repoFolder: string): Promise<Map<string, string>> {
  const refs = new Map<string, string>()
  const walk = async (folder: string, prefix: string, depth: number): Promise<void> => {
    if (depth > 8) return
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => [])
    for (const entry of entries) {
      const name = prefix === '' ? entry.name : `${prefix}/${entry.name}`
      const at = join(folder, entry.name)
      if (entry.isDirectory()) await walk(at, name, depth + 1)
      else if (entry.isFile()) {
        const commit = (await readFile(at, 'utf8').catch(() => '')).trim()
        if (commitPattern.test(commit)) refs.set(name, commit)
      }
    }
  }
  await walk(join(repoFolder, 'refs'), '', 0)
  return refs
}

function describeRefs(refs: Map<string, string>): string {
  return refs.size === 0 ? 'no refs' : `refs: ${[...refs.keys()].sort().join(', ')}`
}

/** The snapshot folder of `reference` in the cache, or a HubCacheError saying what is missing. */
export async function resolveHubModel(reference: HubReference, env: Environment = process.env): Promise<ResolvedHubModel> {
  const cache = hubCacheFolder(env)
  const revision = reference.revision ?? defaultRevision
  const repoFolder = join(cache, repoFolderName(reference.id))
  const label = `${reference.id}@${revision}`
  if (!(await isFolder(join(repoFolder, 'snapshots')))) {
    throw new HubCacheError(`the Hugging Face model ${reference.id} is not in the cache ${cache} (no ${repoFolderName(reference.id)}/snapshots); ${downloadHint(reference.id, reference.revision, env)}`)
  }
  const refs = await readRefs(repoFolder)
  const commit = refs.get(revision) ?? (commitPattern.test(revision) ? revision : undefined)
  if (commit === undefined) {
    throw new HubCacheError(`${label}: the revision ${revision} is not in the cache ${repoFolder} (${describeRefs(refs)}); ${downloadHint(reference.id, revision, env)}`)
  }
  const snapshot = join(repoFolder, 'snapshots', commit)
  if (!(await isFolder(snapshot))) {
    const via = commit === revision ? '' : ` (refs/${revision} points at it)`
    throw new HubCacheError(`${label}: the snapshot of commit ${commit}${via} is not in the cache: no folder ${snapshot}; ${downloadHint(reference.id, revision, env)}`)
  }
  return { id: reference.id, revision, commit, cache, repoFolder, snapshot }
}

/** Weights files in the layouts the checkpoint readers know, most preferred first. */
const weightsIndexes = ['model.safetensors.index.json', 'pytorch_model.bin.index.json']
const weightsFiles = ['model.safetensors', 'pytorch_model.bin', 'model.json']

/** Why a snapshot file cannot be read: absent, or a link whose blob is missing. */
async function missingFile(snapshot: string, name: string): Promise<string | undefined> {
  if (await isFile(join(snapshot, name))) return undefined
  const linked = await readdir(snapshot).then(
    (names) => names.includes(name),
    () => false
  )
  return linked ? `${name} (its blob is missing: the link in the snapshot leads nowhere)` : name
}

export interface SnapshotCheck {
  /** config.json when it is missing (a TensorFlow.js model.json alone needs none). */
  config?: string
  /** Missing weights files, in words; empty when the weights are all there. */
  weights: string[]
}

/** What of config.json and the weights (the index's shards included) a snapshot lacks. */
export async function checkSnapshot(snapshot: string): Promise<SnapshotCheck> {
  const names = new Set(await readdir(snapshot).catch(() => [] as string[]))
  const check: SnapshotCheck = { weights: [] }
  const config = await missingFile(snapshot, 'config.json')
  if (config !== undefined && !(names.has('model.json') && !names.has('config.json'))) check.config = config
  const index = weightsIndexes.find((name) => names.has(name))
  const single = weightsFiles.find((name) => names.has(name))
  if (single !== undefined && (index === undefined || single === 'model.safetensors')) {
    const problem = await missingFile(snapshot, single)
    if (problem !== undefined) check.weights.push(problem)
  } else if (index !== undefined) {
    const problem = await missingFile(snapshot, index)
    if (problem !== undefined) check.weights.push(problem)
    else {
      let shards: string[]
      try {
        const parsed = JSON.parse(await readFile(join(snapshot, index), 'utf8')) as { weight_map?: Record<string, unknown> }
        shards = [...new Set(Object.values(parsed.weight_map ?? {}).filter((v): v is string => typeof v === 'string'))].sort()
      } catch {
        check.weights.push(`a readable ${index} (it is not valid JSON)`)
        return check
      }
      for (const shard of shards) {
        // The shard names come from a file: only plain names inside the snapshot are looked at.
        if (shard.includes('/') || shard.includes('\\') || shard.startsWith('.')) check.weights.push(`${shard} (${index} names a shard outside the snapshot)`)
        else {
          const absent = await missingFile(snapshot, shard)
          if (absent !== undefined) check.weights.push(`${absent}, a shard ${index} lists`)
        }
      }
    }
  } else check.weights.push(`weights (looked for ${[weightsFiles[0], weightsIndexes[0], weightsFiles[1], weightsIndexes[1]].join(', ')})`)
  return check
}

/** checkSnapshot in words: undefined when everything a checkpoint reader needs is there. */
export async function snapshotProblem(snapshot: string): Promise<string | undefined> {
  const check = await checkSnapshot(snapshot)
  const missing = [...(check.config === undefined ? [] : [check.config]), ...check.weights]
  return missing.length === 0 ? undefined : missing.join('; ')
}

/** resolveHubModel, then the snapshot checked for config.json and every weights file. */
export async function resolveCompleteHubModel(reference: HubReference, env: Environment = process.env): Promise<ResolvedHubModel> {
  const resolved = await resolveHubModel(reference, env)
  const problem = await snapshotProblem(resolved.snapshot)
  if (problem !== undefined) {
    throw new HubCacheError(`${resolved.id}@${resolved.revision} (commit ${resolved.commit}): the snapshot ${resolved.snapshot} is missing ${problem}; ${downloadHint(resolved.id, reference.revision, env)}`)
  }
  return resolved
}

export interface ModelLocation {
  /** What a checkpoint reader opens: the path given (absolute), or the id's snapshot folder. */
  path: string
  hub?: ResolvedHubModel
}

export interface ResolveOptions {
  cwd?: string
  env?: Environment
  /** Check config.json and every weights file (default); false when only the tokenizer or preprocessor is read. */
  checkFiles?: boolean
}

/**
 * A model argument as a user gives it, as transformers' from_pretrained tells the two apart: a path that
 * exists wins; text written as a path (`./x`, absolute, more than one `/`) stays a path; otherwise it is a
 * Hub id resolved in the cache. A bare name (`gpt2`) is an id only if the cache holds models--gpt2, since it
 * reads as a relative folder just as well; neither existing is an error naming both.
 */
export async function resolveModelLocation(text: string, options: ResolveOptions = {}): Promise<ModelLocation> {
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  const asPath = resolve(cwd, expandHome(text))
  if (text.length > 0 && !text.includes('\u0000') && existsSync(asPath)) return { path: asPath }
  const reference = looksLikePath(text) ? undefined : parseHubId(text)
  if (reference === undefined) return { path: asPath }
  const cache = hubCacheFolder(env)
  if (!reference.id.includes('/') && !(await isFolder(join(cache, repoFolderName(reference.id), 'snapshots')))) {
    throw new HubCacheError(`${text}: no such file or folder (${asPath}), and no Hugging Face model ${reference.id} in the cache ${cache}; ${downloadHint(reference.id, reference.revision, env)}`)
  }
  try {
    const hub = options.checkFiles === false ? await resolveHubModel(reference, env) : await resolveCompleteHubModel(reference, env)
    return { path: hub.snapshot, hub }
  } catch (error) {
    // `models/bert` may have been meant as a folder: say that there is none either.
    if (error instanceof HubCacheError && reference.id.includes('/') && !(await isFolder(join(cache, repoFolderName(reference.id))))) {
      throw new HubCacheError(`${text}: no such file or folder (${asPath}); as a Hub id: ${error.message}`)
    }
    throw error
  }
}

/** One snapshot of a cached model, as the Model step lists it. */
export type CachedRevisionInfo = CachedModelRevision

export interface CachedModelInfo {
  id: string
  repoFolder: string
  /** Bytes of the distinct blobs its snapshots link to (as scan_cache_dir's size_on_disk). */
  sizeBytes: number
  revisions: CachedRevisionInfo[]
}

const maxRepos = 1000
const maxFilesPerSnapshot = 10_000

/** Files of a snapshot, relative names (subfolders included), up to a bound. */
async function snapshotFiles(snapshot: string): Promise<string[]> {
  const files: string[] = []
  const walk = async (folder: string, prefix: string, depth: number): Promise<void> => {
    if (depth > 8 || files.length >= maxFilesPerSnapshot) return
    for (const entry of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
      const name = prefix === '' ? entry.name : `${prefix}/${entry.name}`
      if (entry.isDirectory()) await walk(join(folder, entry.name), name, depth + 1)
      else files.push(name)
    }
  }
  await walk(snapshot, '', 0)
  return files
}

/** Every model in the cache with at least one snapshot, by id; revisions newest first. */
export async function listCachedModels(env: Environment = process.env): Promise<CachedModelInfo[]> {
  const cache = hubCacheFolder(env)
  const entries = await readdir(cache, { withFileTypes: true }).catch(() => [])
  const models: CachedModelInfo[] = []
  for (const entry of entries.filter((e) => e.isDirectory() && e.name.startsWith('models--')).slice(0, maxRepos)) {
    const id = entry.name.slice('models--'.length).split('--').join('/')
    if (parseHubId(id) === undefined) continue
    const repoFolder = join(cache, entry.name)
    const commits = (await readdir(join(repoFolder, 'snapshots'), { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => e.name)
    if (commits.length === 0) continue
    const refs = await readRefs(repoFolder)
    const blobs = new Map<string, number>()
    const revisions: CachedRevisionInfo[] = []
    for (const commit of commits) {
      const snapshot = join(repoFolder, 'snapshots', commit)
      let modified = (await stat(snapshot)).mtimeMs
      for (const file of await snapshotFiles(snapshot)) {
        const real = await realpath(join(snapshot, file)).catch(() => undefined)
        const info = real === undefined ? undefined : await stat(real).catch(() => undefined)
        if (real === undefined || info === undefined || !info.isFile()) continue
        blobs.set(real, info.size)
        modified = Math.max(modified, info.mtimeMs)
      }
      const check = await checkSnapshot(snapshot)
      const missing = [...(check.config === undefined ? [] : [check.config]), ...check.weights]
      revisions.push({
        commit,
        refs: [...refs].filter(([, c]) => c === commit).map(([name]) => name).sort(),
        snapshot,
        hasConfig: check.config === undefined,
        hasWeights: check.weights.length === 0,
        ...(missing.length > 0 && { problem: `missing ${missing.join('; ')}` }),
        modifiedAt: new Date(modified).toISOString()
      })
    }
    revisions.sort((a, b) => b.modifiedAt.localeCompare(a.modifiedAt) || a.commit.localeCompare(b.commit))
    models.push({ id, repoFolder, sizeBytes: [...blobs.values()].reduce((a, b) => a + b, 0), revisions })
  }
  return models.sort((a, b) => a.id.localeCompare(b.id))
}
