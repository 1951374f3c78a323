import { TrainControl, trainRun } from '../engine/training/loop'
import type { Decompose } from '../engine/peft'
import { request } from './remote'
import type { FromGpuHost, SvdReply } from './protocol'
import type { TrainingCommand } from '../workers/trainingProtocol'

/**
 * One run in the GPU host, as trainingWorker.ts runs one in a thread: the same commands in, the same
 * reports out. SVDs go to the host's analysis pool (and its SVD cache), which the host lends as `decompose`.
 */
export function startSession(send: (message: FromGpuHost, transfer?: ArrayBuffer[]) => void): (command: TrainingCommand) => void {
  const control = new TrainControl()
  let started = false

  const decompose: Decompose = async ({ target, weight, bias }, band) => {
    const reply = (await request({
      kind: 'svd',
      name: target.name,
      outFeatures: target.outFeatures,
      inFeatures: target.inFeatures,
      weight: weight.slice().buffer,
      ...(bias && { bias: bias.slice().buffer }),
      ...(band && { band })
    })) as SvdReply
    return { s: new Float64Array(reply.s), u: new Float64Array(reply.u), vt: new Float64Array(reply.vt), ...(reply.band && { band: reply.band }) }
  }

  async function run(command: Extract<TrainingCommand, { type: 'start' }>): Promise<void> {
    try {
      const what = command.resume ? { resume: true as const } : command.config!
      let outcome: 'finished' | 'cancelled' = 'finished'
      for await (const event of trainRun(what, command.runDir, { decompose, control, ...(command.versions && { versions: command.versions }), ...(command.lockToken && { lockToken: command.lockToken }) })) {
        send({ kind: 'report', report: { type: 'event', event } })
        if (event.type === 'cancelled') outcome = 'cancelled'
      }
      send({ kind: 'report', report: { type: 'done', outcome } })
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error))
      send({ kind: 'report', report: { type: 'failed', message: e.message, name: e.name } })
    }
  }

  return (command) => {
    switch (command.type) {
      case 'pause':
        return control.pause()
      case 'resume':
        return control.resume()
      case 'cancel':
        return control.cancel()
      case 'start':
        if (started) return
        started = true
        void run(command)
    }
  }
}
