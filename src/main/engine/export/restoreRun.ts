import { existsSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { selectBackend } from '../backend'
import { loadLabelMap } from '../data'
import { openCheckpoint, type TensorSource } from '../io'
import type { BuiltModel } from '../models/types'
import { adaptTargets, type Adapter, type Decompose } from '../peft'
import { adaptOptions, planRun, type RunPlan } from '../training/plan'
import { runBasisDecompose } from '../training/runBasis'
import { runLockHolder } from '../training/runLock'
import { EventLog, listCheckpoints, readCheckpoint, readRunInfo, type CheckpointState, type RunInfo } from '../training/runFolder'
import type { TrainConfig, TrainEvent } from '../../../shared/training'
import { ExportRefusal, type Worded } from '../../../shared/exportOptions'

/** Which checkpoint of a run to export: the best by the run's metric, the newest, or the one at a step. */
export type CheckpointChoice = 'best' | 'last' | number

/** A trained tensor in the checkpoint's own layout, under the name the checkpoint would give it. */
export interface TrainedTensor {
  name: string
  shape: number[]
  values: Float32Array
}

/** A run brought back from its folder: the model's checkpoint, the method's adapters with their trained values, the head. */
export interface RestoredRun {
  runDir: string
  info: RunInfo
  config: TrainConfig
  checkpoint: { name: string; state: CheckpointState }
  source: TensorSource
  plan: RunPlan
  /** Adapter methods: one per target, holding the trained values. */
  adapters: Adapter[]
  /** The task head as trained (new or the checkpoint's own); empty for GPT-2's tied LM head. */
  head: { created: boolean; tensors: TrainedTensor[] }
  /** Full fine-tuning: every weight as trained. */
  base: TrainedTensor[]
  /** Classification: class names in id order. */
  labels?: string[]
  /** With keepModel: the model as trained (adapters in place, head set), ready to run. */
  model?: BuiltModel
  close(): Promise<void>
}

/**
 * Rebuild a run at one of its checkpoints: the same targets and settings as training (planRun), the SVDs
 * from `decompose` (the cache makes this cheap), and every trainable variable set to the checkpoint's
 * values, in the order the loop saved them.
 */
export async function restoreRun(runDir: string, which: CheckpointChoice, decompose: Decompose, options: { signal?: AbortSignal; keepModel?: boolean } = {}): Promise<RestoredRun> {
  const info = await readRunInfo(runDir)
  const config = info.config
  // A trainer rotates checkpoints away as it goes: one could vanish while it is read here.
  const trainer = await runLockHolder(runDir)
  if (trainer) throw new Error(`${runDir}: is being trained by process ${trainer.pid} on ${trainer.host} (since ${trainer.since}); export it when it has finished or been cancelled`)
  const checkpoint = await readCheckpoint(runDir, which === 'last' ? 'latest' : which)
  if (!checkpoint) {
    const held = await listCheckpoints(runDir)
    const holds = held.length > 0 ? `; it holds steps ${held.map((c) => c.step).join(', ')}` : ''
    if (which === 'best') {
      const why = await noBest(runDir)
      throw new ExportRefusal('checkpoint', (w) => `${runDir}: ${why(w)}${holds}`)
    }
    throw new Error(`${runDir}: ${which === 'last' ? 'no checkpoint yet' : `no checkpoint at step ${which}`}${holds}`)
  }
  if (!existsSync(config.model)) throw new Error(`${config.model}: the run's model folder is gone; export needs the checkpoint it was trained from`)
  const labels = await runLabels(runDir)
  // Restoring needs no particular backend (the run may have trained on a GPU this machine lacks): the best one
  // here, less WebGPU, whose device start-up (a Vulkan/Metal/D3D12 instance) costs more than this small work.
  await selectBackend('auto', { without: ['webgpu'] })
  const source = await openCheckpoint(config.model)
  let adapters: Adapter[] = []
  let model: BuiltModel | undefined
  try {
    const plan = planRun(config, source)
    const { method, targets, task, family } = plan
    // δ goes back onto the singular vectors it trained on, stored with the run (not a new SVD's).
    const basis = await runBasisDecompose(runDir, decompose)
    ;({ adapters } = await adaptTargets(source, targets, method, adaptOptions(config, plan, basis?.decompose ?? decompose, options.signal)))
    basis?.checkBands(adapters)
    model = await family.build(source, source.config!, {
      task,
      ...(labels ? { numLabels: labels.length } : task === 'regression' ? { numLabels: 1 } : {}),
      linears: new Map(adapters.map((a) => [a.target.name, a.linear])),
      trainAll: method.kind === 'full',
      seed: config.seed
    })
    const variables = [...(method.kind === 'full' ? model.baseVariables : adapters.flatMap((a) => a.variables)), ...model.headVariables]
    const saved = checkpoint.tensors.variables
    if (saved.length !== variables.length) throw new Error(`${runDir}: checkpoint ${checkpoint.name} holds ${saved.length} tensors but the run's model has ${variables.length}; was the model folder changed since training?`)
    variables.forEach((variable, i) => {
      const stored = saved[i]!
      if (stored.shape.join('x') !== variable.shape.join('x')) throw new Error(`${runDir}: checkpoint tensor ${i} is [${stored.shape.join(', ')}] but the model expects [${variable.shape.join(', ')}]`)
      tf.tidy(() => variable.assign(tf.tensor(stored.values, variable.shape)))
    })
    // Read asynchronously, all at once: WebGPU in Node has no synchronous read, and a GPU waits once.
    const trained = (list: tf.Variable[], names: readonly string[]): Promise<TrainedTensor[]> => Promise.all(list.map(async (v, i) => ({ name: names[i]!, shape: [...v.shape], values: Float32Array.from(await v.data()) })))
    const [headTensors, base] = await Promise.all([trained(model.headVariables, model.head.tensors), method.kind === 'full' ? trained(model.baseVariables, model.baseTensors!) : []])
    const head = { created: model.head.created, tensors: headTensors }
    // The adapters keep their variables (lowRank/stored read them); the model itself is kept only when asked.
    const kept = options.keepModel ? model : undefined
    if (!kept) model.dispose()
    model = undefined
    const restored: RestoredRun = {
      runDir,
      info,
      config,
      checkpoint: { name: checkpoint.name, state: checkpoint.state },
      source,
      plan,
      adapters,
      head,
      base,
      ...(labels && { labels }),
      ...(kept && { model: kept }),
      close: async () => {
        kept?.dispose()
        for (const adapter of adapters) adapter.dispose()
        await source.close()
      }
    }
    return restored
  } catch (error) {
    model?.dispose()
    for (const adapter of adapters) adapter.dispose()
    await source.close()
    throw error
  }
}

/** Why a run has no best checkpoint: never evaluated, or (a run trained before the best step was kept) its checkpoint is gone. */
async function noBest(runDir: string): Promise<Worded> {
  const evals = (await EventLog.read(runDir).catch((): TrainEvent[] => [])).filter((e): e is Extract<TrainEvent, { type: 'eval' }> => e.type === 'eval')
  if (evals.length === 0) return (w) => `no best checkpoint (no evaluation has run yet; ${w.otherCheckpoint(false)})`
  const best = evals.filter((e) => e.best).at(-1)
  return (w) => `no best checkpoint: ${evals.length} evaluation${evals.length === 1 ? '' : 's'} ran${best ? `, the best at step ${best.step}` : ''}, but that step's checkpoint was not kept (a run trained before best steps were saved); ${w.otherCheckpoint(true)}`
}

/** The class names the run trained with: its data/labels.json, else its 'prepared' event. */
async function runLabels(runDir: string): Promise<string[] | undefined> {
  const file = join(runDir, 'data', 'labels.json')
  if (existsSync(file)) return loadLabelMap(file)
  const prepared = (await EventLog.read(runDir)).find((e) => e.type === 'prepared')
  return prepared?.type === 'prepared' ? prepared.data.labels : undefined
}
