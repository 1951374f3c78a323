import { BrowserWindow, MessageChannelMain, protocol, type MessagePortMain } from 'electron'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { WebGpuProbe } from '../engine/backend/probe'
import type { FromGpuHost, ToGpuHost } from '../gpuHost/protocol'
import { GpuTrainingSession, type GpuHostConnection, type TrainingSessionLike } from '../workers/gpuTrainingSession'
import { TrainingSession, type TrainingSessionOptions } from '../workers/trainingSession'
import type { TrainConfig } from '../../shared/training'
import { gpuHostContentType, gpuHostCsp, gpuHostFile, gpuHostPortChannel, gpuHostScheme, gpuHostUrl } from './gpuHostPage'

/**
 * The desktop app's GPU window: Dawn's Node addon cannot run inside Electron, so WebGPU training runs in
 * a hidden, sandboxed, context-isolated window that loads only the bundled GPU host (out/gpuHost, built by
 * scripts/build-gpu-host.mjs) and talks to main over one MessagePort. One window per run (or probe),
 * destroyed when it ends. Not run in this repository's tests (no Electron binary here); the page, its
 * worker and the bridge are tested in Chromium by tests/e2e/gpu-host-chromium.test.ts.
 */

/** Before the app is ready: the scheme the page is served from is a secure, standard origin. */
export function registerGpuHostScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: gpuHostScheme, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true } }])
}

/** After ready: serve the bundle's files, and only them, with the CSP. */
export function serveGpuHost(bundleDir: string): void {
  protocol.handle(gpuHostScheme, async (request) => {
    const file = gpuHostFile(bundleDir, request.url)
    if (!file) return new Response('not found', { status: 404 })
    try {
      const body = await readFile(file)
      return new Response(body, { headers: { 'content-type': gpuHostContentType(file), 'content-security-policy': gpuHostCsp } })
    } catch {
      return new Response('not found', { status: 404 })
    }
  })
}

/** A fresh hidden GPU host page and its port. */
export async function openGpuHost(preloadDir: string): Promise<GpuHostConnection> {
  const window = new BrowserWindow({
    show: false,
    webPreferences: {
      preload: join(preloadDir, 'gpuHost.cjs'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true,
      // A hidden window's timers are throttled by default; training must not be.
      backgroundThrottling: false,
      spellcheck: false
    }
  })
  const gone = new Promise<string>((resolve) => {
    window.webContents.once('render-process-gone', (_event, details) => resolve(`its renderer ${details.reason}`))
    window.once('closed', () => resolve('its window closed'))
  })
  await window.loadURL(gpuHostUrl)
  const { port1, port2 } = new MessageChannelMain()
  window.webContents.postMessage(gpuHostPortChannel, null, [port2])
  return {
    transport: portTransport(port1),
    gone,
    close: async () => {
      port1.close()
      if (!window.isDestroyed()) window.destroy()
    }
  }
}

function portTransport(port: MessagePortMain): GpuHostConnection['transport'] {
  return {
    // MessagePortMain clones ArrayBuffers (it transfers only ports).
    postMessage: (message: ToGpuHost) => port.postMessage(message),
    onMessage: (listener) => {
      port.on('message', (event) => listener(event.data as FromGpuHost))
      port.start()
    }
  }
}

/** Which adapter the GPU window's WebGPU would train on; remembered, so 'auto' runs know where to go. */
export class GpuWindowRouter {
  private hardware = false

  constructor(private readonly preloadDir: string) {}

  async probe(): Promise<WebGpuProbe> {
    let connection: GpuHostConnection | undefined
    try {
      connection = await openGpuHost(this.preloadDir)
      const answer = new Promise<WebGpuProbe>((resolve) => {
        connection!.transport.onMessage((message) => {
          if (message.kind === 'probed') resolve(message.probe)
        })
      })
      connection.transport.postMessage({ kind: 'probe', platform: process.platform })
      const probe = await Promise.race([answer, connection.gone.then((why) => ({ reason: `the GPU window stopped: ${why}` }))])
      this.hardware = 'adapter' in probe && !probe.adapter.fallback
      return probe
    } catch (error) {
      return { reason: `the GPU window did not start: ${(error as Error).message}` }
    } finally {
      await connection?.close()
    }
  }

  /** RunSupervisor's session factory: 'webgpu' runs, and 'auto' ones when a hardware adapter was seen, train in the GPU window. */
  readonly sessionFactory = (options: TrainingSessionOptions, config: TrainConfig): TrainingSessionLike =>
    config.backend === 'webgpu' || (config.backend === 'auto' && this.hardware)
      ? new GpuTrainingSession({ ...options, connect: () => openGpuHost(this.preloadDir) })
      : new TrainingSession(options)
}
