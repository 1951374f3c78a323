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
 * A revision is a name in refs/ or a 40-hex commit; it defaults to `main`. Nothing is downloaded here (hubDownload.ts
 * fills the cache): a model or file not in the cache is an error that says so, and how to fill it.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile, realpath, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import type { CachedModelRevision } from '../../../shared/api'
import { hubIdProblem, parseHubId, type HubReference } from '../../../shared/hubId'

// The id rule lives in src/shared/hubId.ts (the request schemas and the Model step use it too).
export { hubIdProblem, parseHubId, type HubReference }

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
export const commitPattern = /^[0-9a-f]{40}$/

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

/** How to get what is missing: `siva download` (or huggingface-cli, which fills the same cache), unless offline. */
export function downloadHint(id: string, revision: string | undefined, env: Environment = process.env): string {
  const withRevision = revision !== undefined && revision !== defaultRevision
  const ours = `siva download ${id}${withRevision ? `@${revision}` : ''}`
  const python = `huggingface-cli download ${id}${withRevision ? ` --revision ${revision}` : ''}`
  if (hubOffline(env)) return `HF_HUB_OFFLINE is set, so only the cache is looked at; on a machine with access to the Hub, fill the same cache with '${ours}' (or '${python}')`
  return `download it with '${ours}' (or '${python}'; both fill the same cache)`
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

/** The weights a reader opens among `names`: an index (with its shards) or one file. */
export type WeightsChoice = { kind: 'index' | 'file'; name: string }

/**
 * Which weights of a folder's (or a Hub repo's) top-level names a checkpoint reader opens: model.safetensors,
 * else an index (safetensors first), else pytorch_model.bin or a tfjs model.json. One rule, so that what the
 * download fetches is what the snapshot check asks for.
 */
export function chooseWeights(names: ReadonlySet<string>): WeightsChoice | undefined {
  const index = weightsIndexes.find((name) => names.has(name))
  const single = weightsFiles.find((name) => names.has(name))
  if (single !== undefined && (index === undefined || single === 'model.safetensors')) return { kind: 'file', name: single }
  return index === undefined ? undefined : { kind: 'index', name: index }
}

/** The distinct shard names an index's weight_map lists, sorted; throws when the text is not JSON. */
export function shardsOfIndex(text: string): string[] {
  const parsed = JSON.parse(text) as { weight_map?: Record<string, unknown> } | null
  return [...new Set(Object.values(parsed?.weight_map ?? {}).filter((v): v is string => typeof v === 'string'))].sort()
}

/** A shard name an index may hold: a plain file name beside it, nothing that leads out of the snapshot. */
export function isPlainShardName(shard: string): boolean {
  return !(shard.includes('/') || shard.includes('\\') || shard.startsWith('.'))
}

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
  const choice = chooseWeights(names)
  if (choice?.kind === 'file') {
    const problem = await missingFile(snapshot, choice.name)
    if (problem !== undefined) check.weights.push(problem)
  } else if (choice !== undefined) {
    const index = choice.name
    const problem = await missingFile(snapshot, index)
    if (problem !== undefined) check.weights.push(problem)
    else {
      let shards: string[]
      try {
        shards = shardsOfIndex(await readFile(join(snapshot, index), 'utf8'))
      } catch {
        check.weights.push(`a readable ${index} (it is not valid JSON)`)
        return check
      }
      for (const shard of shards) {
        // The shard names come from a file: only plain names inside the snapshot are looked at.
        if (!isPlainShardName(shard)) check.weights.push(`${shard} (${index} names a shard outside the snapshot)`)
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
