// The GPU training window's code, for real: the browser build of the GPU host runs in Chromium (its own
// WebGPU, on SwiftShader here), talks to a GpuHostBridge over a real WebSocket, and trains a tiny BERT.
// Its run folder must match the same run trained on wasm in this process. The page is driven through
// GpuTrainingSession, as the desktop app drives its GPU window.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { WebSocketServer, type WebSocket } from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultTrainConfig, trainRun } from '../../src/main/engine/training/loop'
import { readCheckpoint } from '../../src/main/engine/training/runFolder'
import { decodeFrame, encodeFrame, type FromGpuHost, type ToGpuHost, type Transport } from '../../src/main/gpuHost/protocol'
import { GpuTrainingSession, type GpuHostConnection } from '../../src/main/workers/gpuTrainingSession'
import type { TrainConfig, TrainEvent } from '../../src/shared/training'
import { inProcessDecompose } from '../helpers/decompose'
import { repoRoot, tempDir, tinyGpt2 } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'
// @ts-expect-error: a plain .mjs build script, no types
import { buildGpuHost } from '../../scripts/build-gpu-host.mjs'

const chromiumPath = '/usr/bin/chromium'
if (!existsSync(chromiumPath)) console.warn(`[GPU host test skipped] no ${chromiumPath}: install Debian's chromium (apt-get install chromium; .ci/run does).`)

const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' }

function serveBundle(dir: string, onSocket: (socket: WebSocket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    const path = normalize(new URL(request.url ?? '/', 'http://x').pathname).replace(/^\/+/, '')
    const file = join(dir, path)
    if (!file.startsWith(dir) || !existsSync(file)) return void response.writeHead(404).end()
    response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file))
  })
  new WebSocketServer({ server }).on('connection', onSocket)
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })))
}

function socketTransport(socket: WebSocket): Transport<FromGpuHost, ToGpuHost> {
  return {
    postMessage: (message) => socket.send(encodeFrame(message)),
    onMessage: (listener) => socket.on('message', (data: Buffer) => listener(decodeFrame(new Uint8Array(data)) as FromGpuHost))
  }
}

describe.skipIf(!existsSync(chromiumPath))('the GPU host in Chromium (WebGPU on SwiftShader) against the bridge', () => {
  let browser: Browser
  let server: Server
  let port: number
  let model: string
  let data: string
  let onSocket: (socket: WebSocket) => void = () => undefined

  beforeAll(async () => {
    const dir = tempDir('gpu-host')
    model = tinyBertWithTokenizer(join(dir, 'tiny-bert'))
    data = sentimentCsv(join(dir, 'sentiment.csv'), 40)
    const bundle = await buildGpuHost(join(dir, 'bundle'))
    ;({ server, port } = await serveBundle(bundle, (socket) => onSocket(socket)))
    const xdg = mkdtempSync(join(tmpdir(), 'siva-xdg-'))
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader'],
      env: { ...process.env, VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json', XDG_RUNTIME_DIR: xdg }
    })
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    server?.close()
  })

  const config = (backend: 'wasm' | 'webgpu'): TrainConfig =>
    defaultTrainConfig({ model, data, task: 'classify', method: 'siva', epochs: 1, batchSize: 8, lr: 0.05, headLr: 0.01, seed: 3, checkpointEvery: 2, spectraEvery: 2, backend })

  const pageErrors: string[] = []
  /** SVDs the pages asked the host for. */
  let svdRequests = 0

  /** A fresh GPU host page and its socket, as the desktop app's GPU window gives one (gpuWindow.ts). */
  async function connect(): Promise<GpuHostConnection> {
    const socket = new Promise<WebSocket>((resolve) => (onSocket = resolve))
    const page = await browser.newPage()
    page.on('pageerror', (error) => pageErrors.push(error.message))
    await page.goto(`http://127.0.0.1:${port}/index.html?ws=${port}`)
    const ws = await socket
    const gone = new Promise<string>((resolve) => {
      ws.on('close', () => resolve('its socket closed'))
      page.on('crash', () => resolve('its page crashed'))
    })
    const transport = socketTransport(ws)
    const counted: GpuHostConnection['transport'] = {
      postMessage: transport.postMessage,
      onMessage: (listener) => transport.onMessage((message) => (message.kind === 'svd' && svdRequests++, listener(message)))
    }
    return { transport: counted, gone, close: async () => void (ws.close(), await page.close()) }
  }

  /** One run through a page: its events in order, and how it ended. */
  async function trainInPage(runDir: string, cancelAtStep?: number, resume = false, runConfig = config('webgpu')): Promise<{ events: TrainEvent[]; outcome: string }> {
    const events: TrainEvent[] = []
    const session: GpuTrainingSession = new GpuTrainingSession({
      runDir,
      ...(resume ? { resume: true } : { config: runConfig }),
      connect,
      onEvent: (event) => {
        events.push(event)
        if (event.type === 'step' && event.step === cancelAtStep) session.cancel()
      }
    })
    const outcome = await session.done
    expect(pageErrors).toEqual([])
    return { events, outcome }
  }

  it('reports the adapter its WebGPU would train on', async () => {
    const connection = await connect()
    const probed = new Promise<FromGpuHost>((resolve) => connection.transport.onMessage((message) => message.kind === 'probed' && resolve(message)))
    connection.transport.postMessage({ kind: 'probe', platform: process.platform })
    expect(await probed).toMatchObject({ kind: 'probed', probe: { adapter: { host: 'chromium', architecture: 'swiftshader', fallback: true } } })
    await connection.close()
  }, 60_000)

  /** The same run on WebGPU in a page and on wasm in this process: the same events and checkpoint, δ within 1e-3. */
  async function matchesWasm(name: string, make: (backend: 'wasm' | 'webgpu') => TrainConfig, compareLosses = true): Promise<void> {
    const root = tempDir(`gpu-host-${name}`)
    const gpuRun = join(root, 'gpu')
    const { events, outcome } = await trainInPage(gpuRun, undefined, false, make('webgpu'))
    expect(outcome).toBe('finished')
    const started = events[0] as Extract<TrainEvent, { type: 'started' }>
    expect(started.backend.name).toBe('webgpu')
    expect(started.backend.adapter).toMatchObject({ host: 'chromium', fallback: true })

    const wasmRun = join(root, 'wasm')
    const wasmEvents: TrainEvent[] = []
    for await (const event of trainRun(make('wasm'), wasmRun, { decompose: inProcessDecompose })) wasmEvents.push(event)

    // The same event stream, kind by kind (progress stages are paced by the clock, so they are left out);
    // the page's run folder holds what it reported.
    const kinds = (list: TrainEvent[]): string[] => list.filter((e) => e.type !== 'stage').map((e) => e.type)
    expect(kinds(events)).toEqual(kinds(wasmEvents))
    const losses = (list: TrainEvent[]): number[] => list.flatMap((e) => (e.type === 'step' ? [e.loss] : []))
    expect(losses(events).length).toBeGreaterThan(2)
    if (compareLosses) for (const [i, loss] of losses(events).entries()) expect(Math.abs(loss - losses(wasmEvents)[i]!) / losses(wasmEvents)[i]!, `loss at step ${i + 1}`).toBeLessThan(1e-3)
    const logged = readFileSync(join(gpuRun, 'events.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as TrainEvent)
    expect(logged.map((e) => e.type)).toEqual(events.map((e) => e.type))
    expect(existsSync(join(gpuRun, 'lock.json'))).toBe(false)

    const gpu = (await readCheckpoint(gpuRun))!
    const cpu = (await readCheckpoint(wasmRun))!
    expect(gpu.state.step).toBe(cpu.state.step)
    expect(gpu.tensors.variables.map((v) => v.shape)).toEqual(cpu.tensors.variables.map((v) => v.shape))
    // δ (and the head) within 1e-3 relative to the largest value of each variable.
    for (const [i, variable] of gpu.tensors.variables.entries()) {
      const reference = cpu.tensors.variables[i]!.values
      const scale = Math.max(...reference.map(Math.abs))
      expect(scale).toBeGreaterThan(0)
      const worst = Math.max(...variable.values.map((value, j) => Math.abs(value - reference[j]!)))
      expect(worst / scale, `variable ${i}`).toBeLessThan(1e-3)
    }
  }

  it('trains a tiny BERT classifier with SiVA on Chromium WebGPU, and its run folder matches the wasm run', () => matchesWasm('bert', config), 600_000)

  // The gradient norm over GPT-2's adapters is an addN of more than seven tensors, which tfjs-webgpu's own
  // kernel could not bind (backend/webgpu/kernels.ts): its losses read back stale until that was fixed.
  it('trains a tiny GPT-2 language model with SiVA on Chromium WebGPU; its losses, δ and checkpoint match the wasm run', () =>
    matchesWasm('gpt2', (backend) => defaultTrainConfig({ model: tinyGpt2, data: join(repoRoot, 'tests/fixtures/samples/brown-continuation.jsonl'), task: 'causal-lm', method: 'siva', epochs: 1, maxSteps: 3, batchSize: 4, maxLength: 32, lr: 0.05, seed: 6, dropout: false, backend })), 600_000)

  it('refuses an image task before it starts, saying why (sharp cannot run in the page)', async () => {
    const runDir = join(tempDir('gpu-host-image'), 'run')
    const image = defaultTrainConfig({ model: join(repoRoot, 'tests/fixtures/models/tiny-vit'), data: join(repoRoot, 'tests/fixtures/data/images/digits'), task: 'image-classify', epochs: 1, batchSize: 4, validationFraction: 0.34, seed: 4, backend: 'webgpu' })
    await expect(trainInPage(runDir, undefined, false, image)).rejects.toThrow(/image tasks \(image-classify\) cannot train in the GPU window/)
    expect(existsSync(runDir)).toBe(false)
  }, 120_000)

  it('stops a run asked to cancel after a checkpoint, and continues it in a new page to the end', async () => {
    const runDir = join(tempDir('gpu-host-cancel'), 'run')
    svdRequests = 0
    const { events, outcome } = await trainInPage(runDir, 1)
    expect(outcome).toBe('cancelled')
    expect(svdRequests).toBe(4)
    const cancelled = events.at(-1) as Extract<TrainEvent, { type: 'cancelled' }>
    expect(cancelled.type).toBe('cancelled')
    expect((await readCheckpoint(runDir))!.state.step).toBe(cancelled.step)
    expect(existsSync(join(runDir, 'lock.json'))).toBe(false)
    // The bridge reads the run's config from its folder; the page takes the lock, finds its data and basis, and finishes.
    svdRequests = 0
    const resumed = await trainInPage(runDir, undefined, true)
    // Its band came from the run's own basis file (found by existsSync in the page), not from new SVDs.
    expect(svdRequests).toBe(0)
    expect(resumed.outcome).toBe('finished')
    expect(resumed.events[0]).toMatchObject({ type: 'started', resumedFrom: cancelled.step, backend: { name: 'webgpu' } })
    const steps = resumed.events.flatMap((e) => (e.type === 'step' ? [e.step] : []))
    expect(steps[0]).toBe(cancelled.step + 1)
    expect(existsSync(join(runDir, 'lock.json'))).toBe(false)
  }, 300_000)
})
