import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A stand-in for the Hugging Face Hub on 127.0.0.1: tests run without network, so the real Hub cannot be
 * reached, and this server answers the few endpoints a model download uses the way the Hub does (as
 * huggingface_hub's file_download.py and @huggingface/hub read them):
 *
 *   GET /api/models/{id}/revision/{rev}     model info with `sha` (404 RepoNotFound / RevisionNotFound)
 *   GET /api/models/{id}/tree/{rev}?…       the file listing (type, oid, size, path, lfs {oid, size, pointerSize}),
 *                                           paged with a Link: <…&cursor=N>; rel="next" header
 *   GET /{id}/resolve/{rev}/{path}          a git file: its bytes, ETag = git blob sha1, X-Repo-Commit, Range → 206
 *                                           with Content-Range; an LFS file: 302 to /cdn/{sha256} with
 *                                           X-Linked-ETag, X-Linked-Size, X-Repo-Commit (as the Hub's CDN redirect)
 *   GET /cdn/{sha256}                       the LFS bytes, Range → 206
 *
 * A gated repo answers resolve with 401 GatedRepo without a token and 403 with a wrong one. Every request is
 * recorded (path, Range, Authorization); a response can be cut after N bytes (the socket closes), stalled
 * after N bytes (until the client gives up), or served corrupted (one byte flipped, same length).
 */
export interface FakeHubRepo {
  id: string
  /** Branch or tag → commit. */
  refs: Record<string, string>
  /** commit → repo path → bytes. */
  commits: Record<string, Record<string, Buffer>>
  /** Files are gated behind this token (the metadata stays public, as on the Hub). */
  gatedToken?: string
}

export interface RecordedRequest {
  method: string
  url: string
  range?: string
  authorization?: string
}

interface Served {
  bytes: Buffer
  lfs: boolean
  sha256: string
  gitSha1: string
}

/** As the Hub decides: weights and other binaries go to LFS (the usual .gitattributes). */
const lfsPattern = /\.(safetensors|bin|h5|msgpack|onnx|ot|pt|pth|ckpt|npz|model)$/

export function gitBlobSha1(bytes: Buffer): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex')
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}

export class FakeHub {
  readonly requests: RecordedRequest[] = []
  url = ''
  pageSize = 1000
  private readonly cuts = new Map<string, number>()
  private readonly stalls = new Map<string, { after: number; reached: () => void }>()
  private readonly corrupted = new Set<string>()
  private readonly server = createServer((req, res) => this.handle(req, res))
  private readonly blobsBySha = new Map<string, Served>()

  constructor(readonly repos: FakeHubRepo[]) {
    for (const repo of repos) for (const files of Object.values(repo.commits)) for (const [path, bytes] of Object.entries(files)) this.blobsBySha.set(sha256(bytes), this.served(path, bytes))
  }

  async start(): Promise<this> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((done) => this.server.close(() => done()))
  }

  /** The next response carrying more than one byte of `path` stops after `bytes` bytes: the socket closes. */
  cutAfter(path: string, bytes: number): void {
    this.cuts.set(path, bytes)
  }

  /** The next response of `path` sends `bytes` bytes and then nothing; resolves once they are written. */
  stallAfter(path: string, bytes: number): Promise<void> {
    return new Promise((reached) => this.stalls.set(path, { after: bytes, reached }))
  }

  /** Every response of `path` has one byte flipped. */
  corrupt(path: string): void {
    this.corrupted.add(path)
  }

  /** Serve `path` intact again. */
  repair(path: string): void {
    this.corrupted.delete(path)
  }

  /** The requests whose path starts with `prefix`. */
  requestsTo(prefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.url.startsWith(prefix))
  }

  private served(path: string, bytes: Buffer): Served {
    return { bytes, lfs: lfsPattern.test(path), sha256: sha256(bytes), gitSha1: gitBlobSha1(bytes) }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url)
    this.requests.push({
      method: req.method ?? 'GET',
      url: url.pathname + url.search,
      ...(req.headers.range !== undefined && { range: req.headers.range }),
      ...(req.headers.authorization !== undefined && { authorization: req.headers.authorization })
    })
    const path = decodeURIComponent(url.pathname)
    let match: RegExpMatchArray | null
    if ((match = url.pathname.match(/^\/api\/models\/(.+)\/revision\/([^/]+)$/))) return this.info(req, res, decodeURIComponent(match[1]!), decodeURIComponent(match[2]!))
    if ((match = url.pathname.match(/^\/api\/models\/(.+?)\/tree\/(.+)$/))) return this.tree(req, res, url, decodeURIComponent(match[1]!), decodeURIComponent(match[2]!))
    if ((match = path.match(/^\/cdn\/([0-9a-f]{64})$/))) {
      const blob = this.blobsBySha.get(match[1]!)
      if (blob === undefined) return this.error(res, 404, 'EntryNotFound', 'no such object')
      return this.bytes(req, res, this.pathOf(blob), blob, { etag: `"${blob.sha256}"` })
    }
    if ((match = path.match(/^\/(.+)\/resolve\/([^/]+)\/(.+)$/))) return this.resolve(req, res, match[1]!, match[2]!, match[3]!)
    this.error(res, 404, undefined, 'not found')
  }

  private pathOf(blob: Served): string {
    for (const repo of this.repos) for (const files of Object.values(repo.commits)) for (const [path, bytes] of Object.entries(files)) if (bytes === blob.bytes) return path
    return ''
  }

  private error(res: ServerResponse, status: number, code: string | undefined, message: string): void {
    res.writeHead(status, { 'content-type': 'application/json', ...(code !== undefined && { 'x-error-code': code }), 'x-error-message': message })
    res.end(JSON.stringify({ error: message }))
  }

  /** The repo and commit of `id@rev`, or an answer already sent. */
  private lookup(req: IncomingMessage, res: ServerResponse, id: string, rev: string): { repo: FakeHubRepo; commit: string; files: Record<string, Buffer> } | undefined {
    const repo = this.repos.find((r) => r.id === id)
    if (repo === undefined) {
      // The Hub answers an unknown repo with 401 for an anonymous caller (it may be private), 404 otherwise.
      this.error(res, req.headers.authorization === undefined ? 401 : 404, 'RepoNotFound', 'Repository not found')
      return undefined
    }
    const commit = repo.refs[rev] ?? (repo.commits[rev] !== undefined ? rev : undefined)
    if (commit === undefined) {
      this.error(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`)
      return undefined
    }
    return { repo, commit, files: repo.commits[commit]! }
  }

  private info(req: IncomingMessage, res: ServerResponse, id: string, rev: string): void {
    const found = this.lookup(req, res, id, rev)
    if (found === undefined) return
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(
      JSON.stringify({
        _id: `id-${id}`,
        id,
        sha: found.commit,
        private: false,
        gated: found.repo.gatedToken === undefined ? false : 'manual',
        downloads: 0,
        likes: 0,
        lastModified: '2026-01-01T00:00:00.000Z',
        siblings: Object.keys(found.files).map((rfilename) => ({ rfilename }))
      })
    )
  }

  private tree(req: IncomingMessage, res: ServerResponse, url: URL, id: string, rev: string): void {
    const found = this.lookup(req, res, id, rev)
    if (found === undefined) return
    const entries: unknown[] = []
    const folders = new Set<string>()
    for (const [path, bytes] of Object.entries(found.files).sort(([a], [b]) => a.localeCompare(b))) {
      const parts = path.split('/')
      for (let i = 1; i < parts.length; i++) {
        const folder = parts.slice(0, i).join('/')
        if (!folders.has(folder)) entries.push({ type: 'directory', oid: gitBlobSha1(Buffer.from(folder)), size: 0, path: folder })
        folders.add(folder)
      }
      const blob = this.served(path, bytes)
      if (blob.lfs) {
        const pointer = Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${blob.sha256}\nsize ${bytes.length}\n`)
        entries.push({ type: 'file', oid: gitBlobSha1(pointer), size: bytes.length, path, lfs: { oid: blob.sha256, size: bytes.length, pointerSize: pointer.length } })
      } else entries.push({ type: 'file', oid: blob.gitSha1, size: bytes.length, path })
    }
    const cursor = Number(url.searchParams.get('cursor') ?? '0')
    const page = entries.slice(cursor, cursor + this.pageSize)
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (cursor + this.pageSize < entries.length) {
      const next = new URL(url.href)
      next.searchParams.set('cursor', String(cursor + this.pageSize))
      headers['link'] = `<${next.href}>; rel="next"`
    }
    res.writeHead(200, headers)
    res.end(JSON.stringify(page))
  }

  private resolve(req: IncomingMessage, res: ServerResponse, id: string, rev: string, path: string): void {
    const found = this.lookup(req, res, id, rev)
    if (found === undefined) return
    if (found.repo.gatedToken !== undefined) {
      const sent = req.headers.authorization
      if (sent === undefined) return this.error(res, 401, 'GatedRepo', `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.`)
      if (sent !== `Bearer ${found.repo.gatedToken}`) return this.error(res, 403, 'GatedRepo', `Access to model ${id} is restricted and you are not in the authorized list.`)
    }
    const bytes = found.files[path]
    if (bytes === undefined) return this.error(res, 404, 'EntryNotFound', `${path} does not exist on "${rev}"`)
    const blob = this.served(path, bytes)
    const common = { 'x-repo-commit': found.commit }
    if (blob.lfs) {
      res.writeHead(302, { ...common, location: `${this.url}/cdn/${blob.sha256}`, 'x-linked-etag': `"${blob.sha256}"`, 'x-linked-size': String(bytes.length), etag: `"${gitBlobSha1(bytes)}"` })
      res.end()
      return
    }
    this.bytes(req, res, path, blob, { ...common, etag: `"${blob.gitSha1}"` })
  }

  private bytes(req: IncomingMessage, res: ServerResponse, path: string, blob: Served, headers: Record<string, string>): void {
    let body = blob.bytes
    if (this.corrupted.has(path)) {
      body = Buffer.from(body)
      body[body.length >> 1] = body[body.length >> 1]! ^ 0xff
    }
    const total = body.length
    let start = 0
    let end = total - 1
    let status = 200
    const range = req.headers.range?.match(/^bytes=(\d+)-(\d*)$/)
    if (req.headers.range !== undefined) {
      if (range === null || range === undefined || Number(range[1]) >= total) {
        res.writeHead(416, { 'content-range': `bytes */${total}` })
        res.end()
        return
      }
      start = Number(range[1])
      end = range[2] === '' ? total - 1 : Math.min(Number(range[2]), total - 1)
      status = 206
    }
    const part = body.subarray(start, end + 1)
    res.writeHead(status, {
      ...headers,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      'content-length': String(part.length),
      ...(status === 206 && { 'content-range': `bytes ${start}-${end}/${total}` })
    })
    const cut = part.length > 1 ? this.cuts.get(path) : undefined
    const stall = part.length > 1 ? this.stalls.get(path) : undefined
    if (cut !== undefined) {
      this.cuts.delete(path)
      res.write(part.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20))
    } else if (stall !== undefined) {
      this.stalls.delete(path)
      res.write(part.subarray(0, stall.after), () => setTimeout(stall.reached, 50))
    } else res.end(part)
  }
}

export async function startFakeHub(repos: FakeHubRepo[]): Promise<FakeHub> {
  return new FakeHub(repos).start()
}
