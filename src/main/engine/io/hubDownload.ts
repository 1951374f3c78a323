/**
 * Downloads a Hugging Face Hub model into the local Hugging Face cache, in the layout hubCache.ts reads and
 * huggingface_hub writes (file_download.py), so that Python and SiVA Studio share one copy:
 *
 *   blobs/{etag}.incomplete   while a file streams in (huggingface_hub's name: either side resumes it)
 *   blobs/{etag}              the sha256 of an LFS (or xet) file, the git blob sha1 of a small one
 *   snapshots/{commit}/{path} a relative link into ../../blobs/{etag}, made only once the blob is whole
 *   refs/{revision}           the commit, written last (unless the revision is the commit itself)
 *
 * @huggingface/hub supplies the Hub's metadata (modelInfo, listFiles) and the ranged reads of one file
 * (downloadFile); its own cache writer is not used: it cannot report progress, resume or cancel, and names xet
 * blobs differently from huggingface_hub. Only the files a SiVA run reads are fetched (config, tokenizer, model
 * card, one weights layout), never a repository's TensorFlow, Flax or ONNX copies.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { copyFile, mkdir, open, readFile, rename, rm, stat, statfs, symlink, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { downloadFile, HubApiError, listFiles, modelInfo, type ListFileEntry } from '@huggingface/hub'
import {
  chooseWeights,
  commitPattern,
  hubCacheFolder,
  hubOffline,
  isPlainShardName,
  repoFolderName,
  resolveCompleteHubModel,
  resolveHubModel,
  shardsOfIndex,
  type Environment,
  type HubReference,
  type ResolvedHubModel
} from './hubCache'

export interface HubDownloadProgress {
  id: string
  /** The revision asked for (`main` by default). */
  revision: string
  /** Known once the revision is resolved. */
  commit?: string
  /** The repo path being fetched or checked now. */
  file?: string
  /** 1-based among fileCount; 0 while listing. */
  fileIndex: number
  /** Files this download places in the snapshot (those already there included). */
  fileCount: number
  /** Bytes of `file` on disk so far, and its size. */
  fileBytes: number
  fileSize: number
  /** Bytes of all fileCount files on disk so far (those already in the cache included), and their sum. */
  bytes: number
  totalBytes: number
  /** Bytes taken from partial files a previous download left (blobs/*.incomplete), not fetched again. */
  resumedBytes: number
  /** Transfer rate over the last few seconds (0 before any byte came). */
  bytesPerSecond: number
  /** Seconds left at that rate; absent while the rate is unknown. */
  etaSeconds?: number
  stage: 'listing' | 'downloading' | 'verifying' | 'done'
}

export interface HubDownloadOptions {
  env?: Environment
  signal?: AbortSignal
  /** At most about ten calls a second, plus the first and the last ('done'). */
  onProgress?: (progress: HubDownloadProgress) => void
  /** Stands in for the global fetch (the engine passes it every request). */
  fetch?: typeof fetch
  /** false: only config, tokenizer and model card, for a command that never reads weights (default true). */
  weights?: boolean
  /** More repo paths to fetch beside the usual ones (`onnx/model.onnx`); each must exist. */
  files?: string[]
}

export type HubDownloadErrorCode = 'offline' | 'unauthorized' | 'not-found' | 'cancelled' | 'network' | 'integrity' | 'disk'

/** A download that could not finish; the message names the model, the file and what to do. */
export class HubDownloadError extends Error {
  override name = 'HubDownloadError'
  constructor(
    readonly code: HubDownloadErrorCode,
    message: string
  ) {
    super(message)
  }
}

const defaultEndpoint = 'https://huggingface.co'
const defaultRevision = 'main'
/** More entries than any model repo holds; a listing past it is refused rather than held in memory. */
const maxListedFiles = 200_000
const progressInterval = 100
const rateWindowMs = 5000

/** Small files a run reads beside the weights (top level only): config, generation, tokenizer, preprocessor, card. */
const supportFiles = new Set([
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'merges.txt',
  'preprocessor_config.json',
  'README.md'
])
const supportPatterns = [/^vocab\.[^/]+$/, /^[^/]+\.model$/]

const setting = (env: Environment, name: string): string | undefined => {
  const value = env[name]
  return value === undefined || value === '' ? undefined : value
}

/** The Hub's base URL: HF_ENDPOINT (a mirror, or a local server in tests) else huggingface.co, without a trailing slash. */
export function hubEndpoint(env: Environment = process.env): string {
  const value = (setting(env, 'HF_ENDPOINT') ?? defaultEndpoint).replace(/\/+$/, '')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new HubDownloadError('network', `HF_ENDPOINT is not a URL: '${value}' (it should look like ${defaultEndpoint})`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HubDownloadError('network', `HF_ENDPOINT must be an http(s) URL, got '${value}'`)
  return value
}

export interface HubToken {
  value: string
  /** Where it came from, for messages: HF_TOKEN, HUGGING_FACE_HUB_TOKEN or the token file's path. */
  source: string
}

/** Without line breaks and outer blanks; empty means none (huggingface_hub's _clean_token). */
function cleanToken(text: string | undefined): string | undefined {
  const cleaned = text?.replace(/[\r\n]/g, '').trim()
  return cleaned === undefined || cleaned === '' ? undefined : cleaned
}

/**
 * The token huggingface_hub would send (utils/_token.py, _headers.py): HF_TOKEN, else HUGGING_FACE_HUB_TOKEN,
 * else the file $HF_TOKEN_PATH (default $HF_HOME/token, where `huggingface-cli login` writes it); none when
 * HF_HUB_DISABLE_IMPLICIT_TOKEN is set.
 */
export async function hubToken(env: Environment = process.env): Promise<HubToken | undefined> {
  const disabled = setting(env, 'HF_HUB_DISABLE_IMPLICIT_TOKEN')
  if (disabled !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(disabled.toUpperCase())) return undefined
  // As Python's `a or b`: a set HF_TOKEN wins even when it is blank, and then the file is read.
  const variable = setting(env, 'HF_TOKEN') !== undefined ? 'HF_TOKEN' : 'HUGGING_FACE_HUB_TOKEN'
  const fromEnv = cleanToken(setting(env, variable))
  if (fromEnv !== undefined) return { value: fromEnv, source: variable }
  const home = setting(env, 'HF_HOME') ?? join(setting(env, 'XDG_CACHE_HOME') ?? join(homedir(), '.cache'), 'huggingface')
  const expand = (path: string): string => (path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path)
  const file = expand(setting(env, 'HF_TOKEN_PATH') ?? join(expand(home), 'token'))
  const fromFile = cleanToken(await readFile(file, 'utf8').catch(() => undefined))
  return fromFile === undefined ? undefined : { value: fromFile, source: file }
}

/** Which variable made the session offline (HF_HUB_OFFLINE wins, as in huggingface_hub's constants). */
function offlineVariable(env: Environment): string {
  return setting(env, 'HF_HUB_OFFLINE') !== undefined ? 'HF_HUB_OFFLINE' : 'TRANSFORMERS_OFFLINE'
}

/** One file to place in the snapshot, with what its bytes must hash to. */
interface PlannedFile {
  path: string
  size: number
  /** The blob's name: what huggingface_hub takes from the Hub's (X-Linked-)ETag. */
  etag: string
  /** sha256 for LFS/xet files, else the git blob sha1 (of `blob <size>\0` + bytes). */
  digest: 'sha256' | 'git-sha1'
}

function planned(entry: ListFileEntry, label: string): PlannedFile {
  const lfs = entry.lfs
  if (lfs !== undefined) {
    if (!/^[0-9a-f]{64}$/.test(lfs.oid)) throw new HubDownloadError('integrity', `${label}: the Hub lists ${entry.path} with an LFS oid that is not a sha256 ('${lfs.oid}')`)
    return { path: entry.path, size: lfs.size, etag: lfs.oid, digest: 'sha256' }
  }
  if (entry.oid === undefined || !/^[0-9a-f]{40}$/.test(entry.oid)) throw new HubDownloadError('integrity', `${label}: the Hub lists ${entry.path} without a git oid`)
  return { path: entry.path, size: entry.size, etag: entry.oid, digest: 'git-sha1' }
}

/** A repo path that stays inside the snapshot folder once joined to it. */
function safeRepoPath(path: string): boolean {
  return path.length > 0 && !path.startsWith('/') && !path.includes('\\') && path.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
}

/** What a repository offers that is not chosen, in a few words (for "no usable weights"). */
function describeListing(paths: string[]): string {
  const shown = paths.slice(0, 12).join(', ')
  return paths.length === 0 ? 'no files at all' : paths.length > 12 ? `${shown}, … (${paths.length} files)` : shown
}

/** Transfer-rate and ETA bookkeeping, and the throttle that keeps onProgress to about ten calls a second. */
class ProgressReporter {
  readonly state: HubDownloadProgress
  private lastEmit = 0
  private trailing: ReturnType<typeof setTimeout> | undefined
  private transferred = 0
  private samples: { at: number; transferred: number }[] = []

  constructor(
    id: string,
    revision: string,
    private readonly onProgress: ((progress: HubDownloadProgress) => void) | undefined
  ) {
    this.state = { id, revision, fileIndex: 0, fileCount: 0, fileBytes: 0, fileSize: 0, bytes: 0, totalBytes: 0, resumedBytes: 0, bytesPerSecond: 0, stage: 'listing' }
  }

  /** Bytes that arrived over the network now. */
  received(count: number): void {
    this.transferred += count
    this.state.fileBytes += count
    this.state.bytes += count
    this.emit()
  }

  emit(force = false): void {
    if (this.onProgress === undefined) return
    const now = Date.now()
    if (!force && now - this.lastEmit < progressInterval) {
      // A change held back by the throttle still goes out shortly: a transfer that stalls right after
      // it (or a new file that starts with one) must not leave the listener with an older state.
      this.trailing ??= setTimeout(() => {
        this.trailing = undefined
        this.emit(true)
      }, progressInterval - (now - this.lastEmit))
      this.trailing.unref?.()
      return
    }
    clearTimeout(this.trailing)
    this.trailing = undefined
    this.lastEmit = now
    // Samples only at emitted calls (a few a second), so the window stays short however fast bytes come.
    this.samples.push({ at: now, transferred: this.transferred })
    while (this.samples.length > 2 && now - this.samples[0]!.at > rateWindowMs) this.samples.shift()
    const first = this.samples[0]!
    const seconds = (now - first.at) / 1000
    const rate = seconds > 0.2 ? (this.transferred - first.transferred) / seconds : 0
    this.state.bytesPerSecond = rate
    const left = this.state.totalBytes - this.state.bytes
    if (this.state.stage === 'done') this.state.etaSeconds = 0
    else if (rate > 0) this.state.etaSeconds = left / rate
    else delete this.state.etaSeconds
    this.onProgress({ ...this.state })
  }
}

/** What the last failed response said, kept by the fetch wrapper: the library's errors lose the headers. */
interface FailedResponse {
  status: number
  url: string
  errorCode?: string
  errorMessage?: string
}

/**
 * The fetch every library call gets: it carries the caller's AbortSignal, adds the token only for requests to
 * the endpoint itself (never to a CDN a redirect leads to), and notes what a failing or a ranged answer said.
 */
class HubSession {
  failure: FailedResponse | undefined
  /** A ranged read being watched: the status its answer came with (200 means the server ignored the range). */
  watched: { range: string; status?: number } | undefined
  private readonly origin: string

  constructor(
    readonly endpoint: string,
    readonly token: HubToken | undefined,
    readonly signal: AbortSignal | undefined,
    private readonly baseFetch: typeof fetch
  ) {
    this.origin = new URL(endpoint).origin
  }

  readonly fetch: typeof fetch = async (input, init) => {
    this.signal?.throwIfAborted()
    const url = new URL(input instanceof Request ? input.url : String(input))
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined))
    if (this.token !== undefined && url.origin === this.origin && !headers.has('authorization')) headers.set('authorization', `Bearer ${this.token.value}`)
    const signals = [init?.signal, this.signal].filter((s): s is AbortSignal => s instanceof AbortSignal)
    const response = await this.baseFetch(url, { ...init, headers, ...(signals.length > 0 && { signal: AbortSignal.any(signals) }) })
    if (!response.ok) {
      this.failure = {
        status: response.status,
        url: url.href,
        ...(response.headers.get('x-error-code') !== null && { errorCode: response.headers.get('x-error-code')! }),
        ...(response.headers.get('x-error-message') !== null && { errorMessage: response.headers.get('x-error-message')! })
      }
    }
    if (this.watched !== undefined && headers.get('range') === this.watched.range) this.watched.status = response.status
    return response
  }
}

interface ErrorContext {
  label: string
  id: string
  revision: string
  file?: string
  /** A partial file is kept: the message says a re-run resumes. */
  partial?: string
}

/** Socket-level codes in a user's words. */
const networkWords: Record<string, string> = {
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'name lookup failed',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'the connection broke off',
  UND_ERR_CONNECT_TIMEOUT: 'connecting timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'the transfer stalled'
}

/** `ECONNREFUSED: connection refused`, from fetch's TypeError and its cause (or the bare message WebBlob's stream keeps). */
function networkCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined
  const code = typeof cause?.code === 'string' ? cause.code : undefined
  if (code !== undefined) return networkWords[code] === undefined ? code : `${code}: ${networkWords[code]}`
  return typeof cause?.message === 'string' ? cause.message : error.message
}

/** Anything a library call or the network threw, as a HubDownloadError in the user's words. */
function describeFailure(error: unknown, session: HubSession, context: ErrorContext): HubDownloadError {
  if (error instanceof HubDownloadError) return error
  const resumes = context.partial === undefined ? '' : `; the ${context.partial} downloaded so far is kept and a re-run resumes it`
  const what = context.file === undefined ? context.label : `${context.label}: ${context.file}`
  if (session.signal?.aborted) {
    return new HubDownloadError('cancelled', `${what}: download cancelled${resumes || '; the files already downloaded are kept and a re-run continues from there'}`)
  }
  // WebBlob's stream hands on only the message of the error it met (a string); the failed response was noted.
  const status = error instanceof HubApiError ? error.statusCode : typeof error === 'string' ? session.failure?.status : undefined
  const failure = session.failure
  const serverSays = failure?.errorMessage === undefined ? '' : ` (the Hub says: ${failure.errorMessage})`
  if (status === 401 || status === 403) {
    const token =
      session.token === undefined
        ? 'no token is set'
        : `the token from ${session.token.source} was sent and ${status === 403 ? 'has no access to it' : 'was not accepted'}`
    const which = failure?.errorCode === 'RepoNotFound' ? `there is no model ${context.id} this caller may see: it does not exist, or it is private or gated` : 'the model is gated or private (or does not exist)'
    return new HubDownloadError(
      'unauthorized',
      `${what}: ${session.endpoint} refused access (HTTP ${status}${failure?.errorCode === undefined ? '' : ` ${failure.errorCode}`})${serverSays}: ${which}, and ${token}. Check the id; to use a gated model, accept the licence on the model page (${session.endpoint}/${context.id}) while logged in, then set HF_TOKEN to an access token of that account (${defaultEndpoint}/settings/tokens)`
    )
  }
  if (status === 404) {
    const code = failure?.errorCode
    const where = `on ${session.endpoint}`
    let message: string
    if (code === 'RevisionNotFound') message = `no revision ${context.revision} of the model ${context.id} ${where}`
    else if (code === 'RepoNotFound') message = `no model ${context.id} ${where}`
    else if (context.file === undefined) message = `no model ${context.id} (or no revision ${context.revision} of it) ${where}`
    else message = `the model ${context.id} has no file ${context.file} at this commit ${where}`
    return new HubDownloadError('not-found', `${context.label}: ${message}${serverSays}; check the id and revision on the model page`)
  }
  if (status !== undefined && error instanceof HubApiError) {
    return new HubDownloadError('network', `${what}: ${session.endpoint} answered HTTP ${status}${serverSays}; try again later${resumes}`)
  }
  const cause = networkCause(error)
  return new HubDownloadError('network', `${what}: cannot download from the Hugging Face Hub at ${session.endpoint} (${cause}); check the connection, or HF_ENDPOINT if it names a mirror${resumes}`)
}

/** The error of a failed write or rename, naming the file; ENOSPC in words. */
function diskFailure(error: unknown, file: string, context: ErrorContext): HubDownloadError {
  const code = (error as NodeJS.ErrnoException).code
  const reason = code === 'ENOSPC' ? 'the disk is full' : code === 'EDQUOT' ? 'the disk quota is used up' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (error as Error).message
  const kept = context.partial === undefined ? '' : `; the ${context.partial} downloaded so far is kept and a re-run resumes it`
  return new HubDownloadError('disk', `${context.label}: cannot write ${file} (${reason}${code !== undefined && code !== 'ENOSPC' ? `, ${code}` : ''})${kept}`)
}

const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`

const isFileOfSize = async (path: string, size: number): Promise<boolean> =>
  stat(path).then(
    (s) => s.isFile() && s.size === size,
    () => false
  )

/** A name for a temporary file in `folder`, unique to this process and call. */
const tempName = (folder: string, base: string): string => join(folder, `.${base}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)

/** Whether process `pid` runs (signal 0 only asks); EPERM means it runs under another user. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const staleEmptyLockMs = 10_000
const lockPollMs = 300

/**
 * Runs `work` holding `<cache>/.locks/<repo>/<etag>.siva-lock` (a file made with O_EXCL holding our pid), so two
 * SiVA downloads (two commands, the app and a command) never append to one .incomplete at once: the second
 * waits, then finds the blob whole. A lock whose process is gone is taken over. huggingface_hub locks the same
 * folder with flock(2), which Node cannot take, hence a name of our own beside its `<etag>.lock`.
 */
async function withBlobLock<T>(lock: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  await mkdir(dirname(lock), { recursive: true })
  for (;;) {
    signal?.throwIfAborted()
    try {
      const handle = await open(lock, 'wx')
      await handle.writeFile(String(process.pid)).finally(() => handle.close())
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const pid = Number((await readFile(lock, 'utf8').catch(() => '')).trim())
    const age = Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? 0)
    const stale = Number.isInteger(pid) && pid > 0 ? !processAlive(pid) : age > staleEmptyLockMs
    if (stale) await rm(lock, { force: true })
    else await new Promise((done) => setTimeout(done, lockPollMs))
  }
  try {
    return await work()
  } finally {
    await rm(lock, { force: true })
  }
}

function newHash(file: PlannedFile): Hash {
  return file.digest === 'sha256' ? createHash('sha256') : createHash('sha1').update(`blob ${file.size}\0`)
}

/**
 * Downloads what `reference` needs into the Hugging Face cache (only what is missing; partial files resume) and
 * returns what resolveHubModel returns afterwards. Throws HubDownloadError.
 */
export async function downloadHubModel(reference: HubReference, options: HubDownloadOptions = {}): Promise<ResolvedHubModel> {
  const env = options.env ?? process.env
  const revision = reference.revision ?? defaultRevision
  const label = `${reference.id}@${revision}`
  if (hubOffline(env)) {
    const variable = offlineVariable(env)
    throw new HubDownloadError('offline', `${label}: not downloaded, because ${variable} is set (${variable}=${env[variable]}): only the local cache ${hubCacheFolder(env)} is used; unset ${variable} to download it, or fill the cache on a machine with access to the Hub`)
  }
  const endpoint = hubEndpoint(env)
  const session = new HubSession(endpoint, await hubToken(env), options.signal, options.fetch ?? fetch)
  const progress = new ProgressReporter(reference.id, revision, options.onProgress)
  const context: ErrorContext = { label, id: reference.id, revision }
  const common = { hubUrl: endpoint, fetch: session.fetch }
  const repo = { type: 'model' as const, name: reference.id }
  const cache = hubCacheFolder(env)
  const repoFolder = join(cache, repoFolderName(reference.id))
  const blobs = join(repoFolder, 'blobs')
  progress.emit(true)

  let commit: string
  const listing: ListFileEntry[] = []
  try {
    const info = await modelInfo({ name: reference.id, revision, additionalFields: ['sha'], ...common })
    const sha = (info as { sha?: unknown }).sha
    if (typeof sha !== 'string' || !commitPattern.test(sha)) throw new HubDownloadError('network', `${label}: ${endpoint} did not say which commit ${revision} is (no sha in its model info)`)
    commit = sha
    progress.state.commit = commit
    // The commit, not the branch, from here on: a push during the download cannot mix two revisions.
    for await (const entry of listFiles({ repo, recursive: true, revision: commit, ...common })) {
      if (entry.type === 'file') listing.push(entry)
      if (listing.length > maxListedFiles) throw new HubDownloadError('network', `${label}: the Hub lists more than ${maxListedFiles} files; refusing to go on`)
    }
  } catch (error) {
    throw describeFailure(error, session, context)
  }
  const byPath = new Map(listing.map((entry) => [entry.path, entry]))
  const snapshot = join(repoFolder, 'snapshots', commit)
  const at = `${label} (commit ${commit.slice(0, 12)})`
  context.label = at

  /** The snapshot's link for `file`, made (atomically) once its blob is whole; a copy where links are refused. */
  const placeLink = async (file: PlannedFile, blob: string): Promise<void> => {
    const pointer = join(snapshot, ...file.path.split('/'))
    try {
      await mkdir(dirname(pointer), { recursive: true })
      const temp = tempName(blobs, file.etag)
      try {
        await symlink(relative(dirname(pointer), blob), temp)
      } catch (error) {
        // Windows without developer mode: huggingface_hub then keeps a copy in the snapshot; so do we.
        if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error
        await copyFile(blob, temp)
      }
      await rename(temp, pointer).catch(async (error: unknown) => {
        await rm(temp, { force: true })
        throw error
      })
    } catch (error) {
      throw diskFailure(error, pointer, context)
    }
  }

  /** Streams `file` into blobs/<etag>.incomplete (resuming what is there), checks size and digest, renames it into place. */
  const fetchBlob = async (file: PlannedFile, blob: string): Promise<void> => {
    const incomplete = `${blob}.incomplete`
    const fileContext: ErrorContext = { ...context, file: file.path }
    let start = (await stat(incomplete).catch(() => undefined))?.size ?? 0
    if (start > file.size) {
      await rm(incomplete, { force: true })
      start = 0
    }
    let hash = newHash(file)
    if (start > 0) {
      // The kept prefix is hashed too: the digest covers every byte of the blob, not just today's.
      progress.state.stage = 'verifying'
      progress.emit()
      for await (const chunk of createReadStream(incomplete, { end: start - 1 })) hash.update(chunk as Buffer)
      progress.state.resumedBytes += start
      progress.state.fileBytes = start
      progress.state.bytes += start
    }
    progress.state.stage = 'downloading'
    progress.emit()
    let written = start
    if (start < file.size) {
      let handle: Awaited<ReturnType<typeof open>>
      try {
        await mkdir(blobs, { recursive: true })
      } catch (error) {
        throw diskFailure(error, blobs, fileContext)
      }
      // As huggingface_hub checks before a download, but refusing: a clear message now beats ENOSPC halfway.
      const free = await statfs(blobs).then(
        (s) => s.bavail * s.bsize,
        () => undefined
      )
      const needed = file.size - start
      if (free !== undefined && free < needed) {
        throw new HubDownloadError('disk', `${at}: ${file.path} needs ${megabytes(needed)} more, but ${blobs} has only ${megabytes(free)} free; free some space and run again (what is downloaded stays)`)
      }
      try {
        handle = await open(incomplete, 'a')
      } catch (error) {
        throw diskFailure(error, incomplete, fileContext)
      }
      try {
        session.failure = undefined
        // The library puts the path into the URL as given: each segment is escaped here.
        const remote = await downloadFile({ repo, path: file.path.split('/').map(encodeURIComponent).join('/'), revision: commit, ...common })
        if (remote === null) throw new HubDownloadError('not-found', `${at}: ${file.path} is listed but ${endpoint} has no such file (EntryNotFound)`)
        if (remote.size !== file.size) throw new HubDownloadError('integrity', `${at}: ${file.path}: the Hub's listing says ${file.size} bytes, its download ${remote.size}`)
        session.watched = start > 0 ? { range: `bytes=${start}-${file.size - 1}` } : undefined
        const reader = (start > 0 ? remote.slice(start) : remote).stream().getReader()
        let first = true
        try {
          for (;;) {
            const { done, value } = await reader.read()
            if (done) break
            if (first && start > 0 && session.watched?.status === 200) {
              // A server that ignores Range sends the whole file: start it over instead of appending it.
              await handle.truncate(0)
              hash = newHash(file)
              progress.state.bytes -= written
              progress.state.resumedBytes -= start
              progress.state.fileBytes = 0
              written = 0
            }
            first = false
            if (written + value.byteLength > file.size) throw new HubDownloadError('integrity', `${at}: ${file.path}: the Hub sent more than the ${file.size} bytes it announced`)
            try {
              await handle.write(value)
            } catch (error) {
              throw diskFailure(error, incomplete, { ...fileContext, partial: 'part' })
            }
            hash.update(value)
            written += value.byteLength
            progress.received(value.byteLength)
          }
        } catch (error) {
          await reader.cancel().catch(() => undefined)
          throw error
        }
      } catch (error) {
        const failure = describeFailure(error, session, { ...fileContext, ...(written > 0 && { partial: `part of ${file.path} (${written} of ${file.size} bytes)` }) })
        if (failure.code !== 'integrity') throw failure
        // Bytes that cannot be the file's are never kept for a resume.
        await handle.close().catch(() => undefined)
        await rm(incomplete, { force: true })
        throw new HubDownloadError('integrity', `${failure.message}; the partial file was removed, a re-run downloads it again`)
      } finally {
        session.watched = undefined
        await handle.close().catch(() => undefined)
      }
    }
    progress.state.stage = 'verifying'
    progress.emit()
    const digest = hash.digest('hex')
    if (written !== file.size || digest !== file.etag) {
      await rm(incomplete, { force: true })
      const why = written !== file.size ? `${written} bytes arrived, not ${file.size}` : `its ${file.digest === 'sha256' ? 'sha256' : 'git sha1'} is ${digest}, not ${file.etag}`
      throw new HubDownloadError('integrity', `${at}: ${file.path} failed its integrity check (${why}); the partial file was removed, a re-run downloads it again`)
    }
    try {
      await rename(incomplete, blob)
    } catch (error) {
      throw diskFailure(error, blob, fileContext)
    }
  }

  /** Makes `file` readable in the snapshot: nothing if it is, a link if its blob is there, else a download. */
  const place = async (file: PlannedFile, index: number): Promise<void> => {
    options.signal?.throwIfAborted()
    const pointer = join(snapshot, ...file.path.split('/'))
    const blob = join(blobs, file.etag)
    Object.assign(progress.state, { file: file.path, fileIndex: index + 1, fileBytes: 0, fileSize: file.size })
    if (await isFileOfSize(pointer, file.size)) {
      progress.state.bytes += file.size
      return
    }
    if (!(await isFileOfSize(blob, file.size))) {
      if (file.size === 0) {
        // Nothing to fetch (the Hub answers a Range on an empty file with 416): the digest alone decides.
        if (newHash(file).digest('hex') !== file.etag) throw new HubDownloadError('integrity', `${at}: ${file.path} is listed as empty but its oid is not the empty blob's`)
        await mkdir(blobs, { recursive: true })
          .then(() => writeFile(blob, Buffer.alloc(0)))
          .catch((error: unknown) => {
            throw diskFailure(error, blob, context)
          })
      } else {
        const lock = join(cache, '.locks', repoFolderName(reference.id), `${file.etag}.siva-lock`)
        try {
          await withBlobLock(lock, options.signal, async () => {
            // Another download may have finished it while this one waited.
            if (await isFileOfSize(blob, file.size)) progress.state.bytes += file.size
            else await fetchBlob(file, blob)
          })
        } catch (error) {
          if (error instanceof HubDownloadError) throw error
          if (options.signal?.aborted) throw describeFailure(error, session, { ...context, file: file.path })
          throw diskFailure(error, lock, context)
        }
      }
    } else progress.state.bytes += file.size
    await placeLink(file, blob)
  }

  const fileFor = (path: string): PlannedFile => {
    const entry = byPath.get(path)
    if (entry === undefined) throw new HubDownloadError('not-found', `${at}: the model ${reference.id} has no file ${path} on ${endpoint}`)
    if (!safeRepoPath(entry.path)) throw new HubDownloadError('integrity', `${at}: the Hub lists a file outside the repository ('${entry.path}')`)
    return planned(entry, at)
  }

  try {
    // Files at the top level that a run reads beside the weights; then the weights; then what was asked for.
    const topLevel = new Set(listing.map((e) => e.path).filter((p) => !p.includes('/')))
    const plan: PlannedFile[] = [...topLevel].filter((p) => supportFiles.has(p) || supportPatterns.some((re) => re.test(p))).sort().map(fileFor)
    if (options.weights !== false) {
      if (!topLevel.has('config.json')) throw new HubDownloadError('not-found', `${at}: the model has no config.json, so SiVA Studio cannot read it (it has ${describeListing(listing.map((e) => e.path).sort())})`)
      // A TensorFlow.js model.json names its own shards elsewhere; Hub checkpoints come as safetensors or .bin.
      const choice = chooseWeights(new Set([...topLevel].filter((p) => p !== 'model.json')))
      if (choice === undefined) {
        throw new HubDownloadError(
          'not-found',
          `${at}: no weights SiVA Studio reads (model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json, with their shards); the model has ${describeListing(listing.map((e) => e.path).sort())}`
        )
      }
      const weights = fileFor(choice.name)
      if (choice.kind === 'index') {
        // The index first (it is small): it says which shards to fetch.
        progress.state.stage = 'listing'
        await place(weights, 0)
        let shards: string[]
        try {
          shards = shardsOfIndex(await readFile(join(snapshot, choice.name), 'utf8'))
        } catch {
          throw new HubDownloadError('integrity', `${at}: ${choice.name} is not valid JSON, so its shards are unknown`)
        }
        if (shards.length === 0) throw new HubDownloadError('integrity', `${at}: ${choice.name} lists no shards in its weight_map`)
        const outside = shards.filter((s) => !isPlainShardName(s))
        if (outside.length > 0) throw new HubDownloadError('integrity', `${at}: ${choice.name} names shards outside the snapshot (${outside.join(', ')}); refusing them`)
        const absent = shards.filter((s) => !byPath.has(s))
        if (absent.length > 0) throw new HubDownloadError('not-found', `${at}: ${choice.name} lists shards the model does not have on ${endpoint}: ${absent.join(', ')}`)
        plan.push(weights, ...shards.map(fileFor))
      } else plan.push(weights)
    }
    for (const path of options.files ?? []) {
      if (!safeRepoPath(path)) throw new HubDownloadError('not-found', `${at}: '${path}' is not a file path inside a repository`)
      if (!plan.some((f) => f.path === path)) plan.push(fileFor(path))
    }

    progress.state.fileCount = plan.length
    progress.state.totalBytes = plan.reduce((n, f) => n + f.size, 0)
    // The weights index was placed while listing: count it as there already.
    progress.state.bytes = 0
    for (const [index, file] of plan.entries()) await place(file, index)

    if (revision !== commit) {
      const ref = join(repoFolder, 'refs', ...revision.split('/'))
      const temp = tempName(blobs, 'ref')
      try {
        await mkdir(dirname(ref), { recursive: true })
        await mkdir(blobs, { recursive: true })
        await writeFile(temp, commit) // no newline, as huggingface_hub writes it
        await rename(temp, ref)
      } catch (error) {
        await rm(temp, { force: true })
        throw diskFailure(error, ref, context)
      }
    }
  } catch (error) {
    if (error instanceof HubDownloadError) throw error
    throw describeFailure(error, session, context)
  }

  const resolved = options.weights === false ? await resolveHubModel(reference, env) : await resolveCompleteHubModel(reference, env)
  Object.assign(progress.state, { stage: 'done', fileBytes: progress.state.fileSize })
  delete progress.state.file
  progress.emit(true)
  return resolved
}
