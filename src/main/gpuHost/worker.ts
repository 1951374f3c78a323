// The GPU training host: a dedicated worker of the hidden GPU page, where Chromium's WebGPU is. It runs
// the engine's trainRun as the Node training worker does, on the 'webgpu' backend, with files and SVDs
// asked of the host over the page's port. The engine is imported only after the host's facts arrive:
// its modules read fs constants and `process` when they load.
import { connectRemote, settleReply } from './remote'
import { makeProcess } from './shims/process'
import { Buffer } from './shims/buffer'
import type { FromGpuHost, ToGpuHost } from './protocol'
import type { TrainingCommand } from '../workers/trainingProtocol'

interface WorkerScope {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
}
const scope = globalThis as unknown as WorkerScope

const send = (message: FromGpuHost, transfer: ArrayBuffer[] = []): void => scope.postMessage(message, transfer)
let onCommand: ((command: TrainingCommand) => void) | undefined
const early: TrainingCommand[] = []

scope.addEventListener('message', (event) => {
  const message = event.data as ToGpuHost
  switch (message.kind) {
    case 'init':
      connectRemote(send, message.facts)
      Object.assign(globalThis, { Buffer, process: makeProcess() })
      void import('./session').then(({ startSession }) => {
        onCommand = startSession(send)
        for (const command of early.splice(0)) onCommand(command)
      }, (error: unknown) => send({ kind: 'report', report: { type: 'failed', message: `the GPU host could not load the engine: ${String(error)}`, name: 'Error' } }))
      return
    case 'probe':
      void import('../engine/backend/webgpu').then(
        ({ probeWebGpuAdapter }) => probeWebGpuAdapter(message.platform),
        (error: unknown) => ({ reason: `the GPU host could not load its WebGPU probe: ${String(error)}` })
      ).then((probe) => send({ kind: 'probed', probe }))
      return
    case 'command':
      if (onCommand) onCommand(message.command)
      else early.push(message.command)
      return
    case 'reply':
      settleReply(message)
  }
})

send({ kind: 'ready' })
