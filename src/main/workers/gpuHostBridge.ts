import { constants, type Stats } from 'node:fs'
import { appendFile, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, type FileHandle, access as fsAccess, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join, sep } from 'node:path'
import { cachedDecompose, type Decompose } from '../engine/peft'
import type { AdaptableLinear } from '../engine/models/types'
import type { TrainConfig } from '../../shared/training'
import type { FromGpuHost, FsOp, HostFacts, StatReply, ToGpuHost, Transport } from '../gpuHost/protocol'
import { AnalysisPool } from './analysisPool'
import { AccessDeniedError, RunAccess } from './gpuHostAccess'
import type { TrainingCommand, TrainingReport } from './trainingProtocol'

/**
 * The host's half of the GPU training window: it speaks TrainingCommand / TrainingReport to the page's
 * training worker, and answers the worker's file system calls (inside the run's RunAccess only) and its
 * SVDs (in an analysis pool, through the SVD cache). The transport is an Electron MessagePortMain in the
 * app, a WebSocket in the Chromium test.
 */

export interface GpuHostBridgeOptions {
  transport: Transport<FromGpuHost, ToGpuHost>
  /** The start command, as TrainingSession sends it to the worker thread. */
  start: Extract<TrainingCommand, { type: 'start' }>
  onReport: (report: TrainingReport) => void
}

export class GpuHostBridge {
  private readonly handles = new Map<number, FileHandle>()
  private nextHandle = 1
  private access: RunAccess | undefined
  private decompose: Decompose | undefined
  private pool: AnalysisPool | undefined
  private readonly transport: Transport<FromGpuHost, ToGpuHost>

  constructor(private readonly options: GpuHostBridgeOptions) {
    this.transport = options.transport
    this.transport.onMessage((message) => void this.receive(message))
  }

  /** Send pause / resume / cancel on to the run. */
  command(command: TrainingCommand): void {
    this.post({ kind: 'command', command })
  }

  /** Close the files the page left open and the SVD workers. */
  async close(): Promise<void> {
    await Promise.all([...this.handles.values()].map((handle) => handle.close().catch(() => undefined)))
    this.handles.clear()
    await this.pool?.close()
    this.pool = undefined
  }

  private post(message: ToGpuHost): void {
    const transfer = message.kind === 'reply' && message.ok && message.value instanceof ArrayBuffer ? [message.value] : []
    this.transport.postMessage(message, transfer)
  }

  private async receive(message: FromGpuHost): Promise<void> {
    switch (message.kind) {
      case 'ready':
        try {
          await this.prepare()
        } catch (error) {
          this.options.onReport({ type: 'failed', message: (error as Error).message, name: (error as Error).name })
        }
        return
      case 'report':
        this.options.onReport(message.report)
        return
      case 'fs':
        return this.answer(message.id, () => this.fs(message.op, message.args))
      case 'svd':
        return this.answer(message.id, async () => {
          const target = { name: message.name, outFeatures: message.outFeatures, inFeatures: message.inFeatures } as AdaptableLinear
          const band = message.band
          const r = Math.min(message.outFeatures, message.inFeatures)
          if (band !== undefined && !(Array.isArray(band) && band.length === 2 && Number.isInteger(band[0]) && Number.isInteger(band[1]) && band[0] >= 0 && band[0] < band[1] && band[1] <= r)) {
            throw new Error(`the GPU host asked for the SVD of ${message.name} with a band that is not [start, end) within its ${r} singular values`)
          }
          const result = await this.decompose!({ target, weight: new Float64Array(message.weight), ...(message.bias && { bias: new Float64Array(message.bias) }) }, band)
          return { s: copy(result.s), u: copy(result.u), vt: copy(result.vt), ...(result.band && { band: result.band }) }
        })
    }
  }

  private async answer(id: number, work: () => Promise<unknown>): Promise<void> {
    try {
      const value = await work()
      this.transport.postMessage({ kind: 'reply', id, ok: true, value }, transferable(value))
    } catch (error) {
      const e = error as NodeJS.ErrnoException
      this.post({ kind: 'reply', id, ok: false, error: { message: e.message, ...(e.code !== undefined && { code: e.code }) } })
    }
  }

  /** What the run may touch, from its config (a resumed run's is in its run.json), then the host's facts and the start. */
  private async prepare(): Promise<void> {
    const { start } = this.options
    const config = start.config ?? ((JSON.parse(await readFile(join(start.runDir, 'run.json'), 'utf8')) as { config: TrainConfig }).config)
    // Images are decoded by sharp, a native module: the page cannot, so it refuses the run before it starts.
    if (config.task.startsWith('image')) throw new Error(`${start.runDir}: image tasks (${config.task}) cannot train in the GPU window, which has no image decoder; choose the wasm or another Node backend for this run`)
    this.access = new RunAccess({ runDir: start.runDir, model: config.model, dataFiles: [config.data, ...(config.validation ? [config.validation] : [])] })
    this.pool = new AnalysisPool(start.svdWorkers)
    this.decompose = cachedDecompose(this.pool.runSvd, start.svdCacheDir === undefined ? {} : { cacheDir: start.svdCacheDir })
    const facts: HostFacts = {
      pid: process.pid,
      hostname: hostname(),
      platform: process.platform,
      arch: process.arch,
      constants: Object.fromEntries(Object.entries(constants).filter((entry): entry is [string, number] => typeof entry[1] === 'number')),
      existing: await listExisting(start.runDir),
      sep
    }
    const procStat = await readFile(`/proc/${process.pid}/stat`, 'utf8').catch(() => undefined)
    if (procStat !== undefined) facts.procStat = procStat
    this.post({ kind: 'init', facts })
    // The engine chooses the backend as it does anywhere ('webgpu' forced, or 'auto' taking a hardware adapter).
    this.post({ kind: 'command', command: start })
  }

  private handle(id: unknown): FileHandle {
    const handle = this.handles.get(id as number)
    if (!handle) throw new Error(`the GPU host used a file handle that is not open (${String(id)})`)
    return handle
  }

  private async fs(op: FsOp, args: unknown[]): Promise<unknown> {
    const access = this.access
    if (!access) throw new Error('the GPU host asked for a file before its run was set up')
    const path = (i = 0): string => {
      if (typeof args[i] !== 'string') throw new Error(`the GPU host's ${op} needs a path, not ${JSON.stringify(args[i])?.slice(0, 80)}`)
      return args[i] as string
    }
    switch (op) {
      case 'open': {
        const flags = args[1] as string | number
        const writes = typeof flags === 'string' ? /[wax+]/.test(flags) : (flags & (constants.O_WRONLY | constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND)) !== 0
        const real = writes ? await access.writable(path()) : await access.readable(path())
        const handle = await open(real, flags, args[2] as number | undefined)
        const id = this.nextHandle++
        this.handles.set(id, handle)
        return id
      }
      case 'h.stat':
        return statReply(await this.handle(args[0]).stat())
      case 'h.read': {
        const length = Math.min(Number(args[1]), 64 * 2 ** 20)
        const bytes = Buffer.alloc(length)
        const { bytesRead } = await this.handle(args[0]).read(bytes, 0, length, args[2] as number | null)
        return copy(bytes.subarray(0, bytesRead))
      }
      case 'h.write': {
        const { bytesWritten } = await this.handle(args[0]).write(new Uint8Array(args[1] as ArrayBuffer), 0, undefined, args[2] as number | null)
        return bytesWritten
      }
      case 'h.readFile':
        return copy(await this.handle(args[0]).readFile())
      case 'h.writeFile':
        return void (await this.handle(args[0]).writeFile(new Uint8Array(args[1] as ArrayBuffer)))
      case 'h.sync':
        return void (await this.handle(args[0]).sync())
      case 'h.close': {
        const handle = this.handle(args[0])
        this.handles.delete(args[0] as number)
        return void (await handle.close())
      }
      case 'readFile':
        return copy(await readFile(await access.readable(path())))
      case 'writeFile':
        return void (await writeFile(await access.writable(path()), new Uint8Array(args[1] as ArrayBuffer), args[2] === undefined ? {} : { flag: args[2] as string }))
      case 'appendFile':
        return void (await appendFile(await access.writable(path()), new Uint8Array(args[1] as ArrayBuffer)))
      case 'rename':
        return void (await rename(await access.writable(path(0)), await access.writable(path(1))))
      case 'rm': {
        const { force, recursive } = (args[1] ?? {}) as { force?: boolean; recursive?: boolean }
        return void (await rm(await access.writable(path()), { force: force === true, recursive: recursive === true }))
      }
      case 'rmdir':
        return void (await rmdir(await access.writable(path())))
      case 'mkdir':
        return await mkdir(await access.creatable(path()), { recursive: (args[1] as { recursive?: boolean } | undefined)?.recursive === true })
      case 'readdir': {
        // The run folder's parent is listed only for the run's own name and its temp siblings.
        const parent = await access.isRunParent(path())
        const real = parent ? path() : await access.readable(path())
        const entries = await readdir(real, { withFileTypes: true })
        const name = access.options.runDir.split(sep).at(-1)!
        return entries
          .filter((entry) => !parent || entry.name === name || entry.name.startsWith(`.${name}.`))
          .map((entry) => ({ name: entry.name, kind: kindOf(entry) }))
      }
      case 'stat':
        return statReply(await stat(await access.readable(path()).catch(async (error: unknown) => ((await access.isRunParent(path())) ? path() : Promise.reject(error)))))
      case 'access':
        return void (await fsAccess(await access.readable(path()), args[1] as number | undefined))
      default:
        throw new AccessDeniedError(String(op), 'call this file system operation')
    }
  }
}

/** A copy of the bytes in a buffer of their own, for transfer. */
function copy(view: ArrayBufferView): ArrayBuffer {
  const out = new Uint8Array(view.byteLength)
  out.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
  return out.buffer
}

function transferable(value: unknown): ArrayBuffer[] {
  if (value instanceof ArrayBuffer) return [value]
  if (value !== null && typeof value === 'object') return Object.values(value).filter((item): item is ArrayBuffer => item instanceof ArrayBuffer)
  return []
}

function kindOf(entry: { isFile(): boolean; isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSymbolicLink(): boolean }): StatReply['kind'] {
  if (entry.isFile()) return 'file'
  if (entry.isDirectory()) return 'dir'
  if (entry.isSymbolicLink()) return 'symlink'
  if (entry.isFIFO()) return 'fifo'
  if (entry.isSocket()) return 'socket'
  if (entry.isCharacterDevice()) return 'char'
  if (entry.isBlockDevice()) return 'block'
  return 'other'
}

function statReply(stats: Stats): StatReply {
  return { kind: kindOf(stats), size: stats.size, mtimeMs: stats.mtimeMs }
}

/** Every path under the run folder (and the folder and its parents), as the engine will name them. */
async function listExisting(runDir: string): Promise<string[]> {
  const found: string[] = []
  let at = runDir
  for (;;) {
    const parent = join(at, '..')
    if (parent === at) break
    at = parent
    found.push(at)
  }
  const walk = async (dir: string): Promise<void> => {
    let entries
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch {
      return
    }
    found.push(dir)
    for (const entry of entries) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) await walk(path)
      else found.push(path)
    }
  }
  await walk(runDir)
  return found
}
