// One timed training step of bench:train, importable: the model from a BERT-base-wide checkpoint
// (bench/bertCheckpoint.ts makes one), one method's adapters, a classification head, AdamW, and the
// median of `steps` steps after one warm-up. It runs on one backend per process (tfjs holds one), so
// bench/train.ts calls it in a fresh child per row; the GPU bench bundle calls it the same way.
import * as tf from '@tensorflow/tfjs'
import { selectBackend, type BackendName } from '../src/main/engine/backend'
import { openCheckpoint } from '../src/main/engine/io'
import { taskLoss } from '../src/main/engine/models/loss'
import { familyFor } from '../src/main/engine/models/registry'
import { adaptTargets, methods, selectTargets, type MethodName } from '../src/main/engine/peft'
import { AdamW } from '../src/main/engine/training/optimizer'
import { gemmThreadCount, startGemmThreads } from '../src/main/workers/gemmThreads'
import type { GpuAdapterSummary } from '../src/shared/training'
import { inProcessDecompose as decompose } from '../tests/helpers/decompose'

export interface StepOptions {
  modelDir: string
  /** 'inference' (a forward pass of the batch) or a method's name. */
  phase: string
  batch: number
  length: number
  /** Timed steps after the warm-up one. */
  steps: number
  perc: number
  backend?: BackendName | 'auto'
}

export interface StepMeasurement {
  phase: string
  /** Median of the timed steps. */
  secondsPerStep: number
  /** Every timed step, in order. */
  times: number[]
  peakRssMiB: number
  trainable?: number
  backend?: string
  threads?: number
  /** webgpu only: the adapter it ran on. */
  adapter?: GpuAdapterSummary
}

function seededIds(count: number, vocab: number): Int32Array {
  let state = 12345
  return Int32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return 5 + (state % (vocab - 5))
  })
}

export async function measureStep(options: StepOptions): Promise<StepMeasurement> {
  const { phase, batch, length, steps, perc } = options
  const backend = await selectBackend(options.backend ?? 'auto')
  // Our wasm matmul splits large products over helper threads (SIVA_GEMM_THREADS=1: one thread only).
  const threads = backend.matmul?.startsWith('siva') ? gemmThreadCount() : 1
  const stopThreads = threads > 1 ? startGemmThreads(threads) : undefined
  const source = await openCheckpoint(options.modelDir)
  try {
    const family = familyFor(source.config)
    const method = phase === 'inference' ? methods.head : methods[phase as MethodName]
    if (!method) throw new Error(`unknown phase ${phase}: expected inference or one of ${Object.keys(methods).join(', ')}`)
    const targets = method.kind === 'adapter' ? selectTargets(family.targets(source.config!, source.tensors), family.defaultTargets) : []
    const { adapters, linears } = await adaptTargets(source, targets, method, { seed: 1, perc, rank: 8, decompose })
    const model = await family.build(source, source.config!, { task: 'classification', numLabels: 2, linears, trainAll: method.kind === 'full', seed: 1 })
    const inputs = { batchSize: batch, length, inputIds: seededIds(batch * length, source.config!.vocabSize!), attentionMask: new Int32Array(batch * length).fill(1), tokenTypeIds: new Int32Array(batch * length) }
    const labels = tf.tensor1d(Int32Array.from({ length: batch }, (_, i) => i % 2), 'int32')
    const variables = [...(method.kind === 'full' ? model.baseVariables : adapters.flatMap((a) => a.variables)), ...model.headVariables]
    const optimizer = new AdamW([{ name: 'all', variables, lr: 1e-3, weightDecay: 0 }])
    const times: number[] = []
    for (let step = 0; step <= steps; step++) {
      const start = performance.now()
      // Reads are asynchronous: WebGPU in Node has no synchronous read. Waiting on one result waits for the step.
      if (phase === 'inference') {
        const logits = tf.tidy(() => model.forward(inputs))
        await logits.data()
        logits.dispose()
      } else {
        const grads = tf.tidy(() => {
          const { grads: named } = tf.variableGrads(() => taskLoss('classification', model.forward(inputs), labels), variables)
          return variables.map((v) => tf.keep(named[v.name]!))
        })
        optimizer.apply(grads, 1)
        tf.dispose(grads)
        await variables[0]!.data()
      }
      if (step > 0) times.push((performance.now() - start) / 1000)
    }
    const sorted = [...times].sort((a, b) => a - b)
    return {
      phase,
      secondsPerStep: sorted[Math.floor(sorted.length / 2)]!,
      times,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      trainable: variables.reduce((s, v) => s + v.size, 0),
      backend: backend.name,
      threads,
      ...(backend.adapter && { adapter: backend.adapter })
    }
  } finally {
    await stopThreads?.()
    await source.close()
  }
}
