import { spawnSync } from 'node:child_process'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { causalLmLoss, lossChunkTokens } from '../../../src/main/engine/models/lmLoss'
import { taskLoss } from '../../../src/main/engine/models/loss'
import { pythonWithNumpy } from '../../helpers/paths'

/**
 * The chunked causal-LM loss (models/lmLoss.ts) against numpy: the loss, its gradient with respect to the
 * hidden states and to the output embedding, for chunks of every size from one position to all of them,
 * with ignored labels (-100) mixed in. The models' own fidelity tests (llama.test.ts, gpt2.test.ts) check
 * it against transformers through whole checkpoints; this one isolates the chunking.
 */
const batch = 3
const length = 7
const size = 6
const vocab = 41

function seeded(count: number, seed: number, scale: number): Float32Array {
  let state = seed
  return Float32Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return (state / 2 ** 31 - 0.5) * 2 * scale
  })
}

const hidden = seeded(batch * length * size, 3, 1.5)
const weight = seeded(vocab * size, 11, 0.8)
// Labels: ids, -100 on a prompt (row 0's first three) and on padding (row 2's last two).
const labels = Int32Array.from({ length: batch * length }, (_, i) => (i * 17 + 5) % vocab)
for (const i of [0, 1, 2, 2 * length + 5, 2 * length + 6]) labels[i] = -100

interface Reference {
  loss: number
  dHidden: number[]
  dWeight: number[]
}

function numpyReference(labelValues: Int32Array): Reference {
  const script = `
import json, sys
import numpy as np
d = json.load(sys.stdin)
b, t, s, v = d['shape']
h = np.array(d['hidden'], dtype=np.float64).reshape(b, t, s)
w = np.array(d['weight'], dtype=np.float64).reshape(v, s)
y = np.array(d['labels']).reshape(b, t)
x = h[:, :-1].reshape(-1, s)
target = y[:, 1:].reshape(-1)
keep = target != -100
logits = x @ w.T
m = logits.max(axis=1, keepdims=True)
lse = (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]
safe = np.where(keep, target, 0)
n = max(keep.sum(), 1)
loss = float(((lse - logits[np.arange(len(safe)), safe]) * keep).sum() / n)
p = np.exp(logits - lse[:, None])
p[np.arange(len(safe)), safe] -= 1
g = p * keep[:, None] / n
dx = g @ w
dh = np.zeros_like(h)
dh[:, :-1] = dx.reshape(b, t - 1, s)
print(json.dumps({'loss': loss, 'dHidden': dh.ravel().tolist(), 'dWeight': (g.T @ x).ravel().tolist()}))
`
  const run = spawnSync(pythonWithNumpy(), ['-c', script], {
    input: JSON.stringify({ shape: [batch, length, size, vocab], hidden: [...hidden], weight: [...weight], labels: [...labelValues] }),
    encoding: 'utf8'
  })
  if (run.status !== 0) throw new Error(run.stderr)
  return JSON.parse(run.stdout) as Reference
}

function maxRelative(actual: ArrayLike<number>, expected: readonly number[]): number {
  const scale = Math.max(...expected.map(Math.abs), 1e-30)
  let worst = 0
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!))
  return worst / scale
}

let reference: Reference
beforeAll(async () => {
  await selectBackend('wasm')
  reference = numpyReference(labels)
})

describe('the chunked causal-LM loss', () => {
  // 18 predicted positions: chunks of 1, 4 (uneven), 18 (one chunk), 100 (more than there are) and the default.
  it.each([1, 4, 18, 100, undefined])('chunks of %s positions: loss and gradients equal numpy, frozen and trained output embedding', (chunk) => {
    const before = tf.memory().numTensors
    const h = tf.tensor3d(hidden, [batch, length, size])
    const frozenW = tf.tensor2d(weight, [vocab, size])
    const w = tf.variable(frozenW)
    const y = tf.tensor2d(labels, [batch, length], 'int32')
    const frozenT = tf.transpose(frozenW) as tf.Tensor2D
    // Frozen: the product by the kept transposed layout; d loss / d hidden.
    const frozen = tf.valueAndGrad((x: tf.Tensor) => causalLmLoss(x as tf.Tensor3D, y, { weight: frozenW, weightT: frozenT, trainable: false }, chunk))(h)
    expect(Math.abs(frozen.value.dataSync()[0]! - reference.loss)).toBeLessThan(1e-6)
    expect(maxRelative(frozen.grad.dataSync(), reference.dHidden)).toBeLessThan(1e-5)
    // Trained (full fine-tuning): the weight's gradient too, summed over the chunks.
    const trained = tf.variableGrads(() => causalLmLoss(tf.mul(h, 1) as tf.Tensor3D, y, { weight: w, trainable: true }, chunk), [w])
    expect(Math.abs(trained.value.dataSync()[0]! - reference.loss)).toBeLessThan(1e-6)
    expect(maxRelative(trained.grads[w.name]!.dataSync(), reference.dWeight)).toBeLessThan(1e-5)
    // The same number as the loss of the full logits (what taskLoss takes).
    const full = tf.tidy(() => taskLoss('causal-lm', tf.matMul(h.reshape([-1, size]), frozenW, false, true).reshape([batch, length, vocab]), y).dataSync()[0]!)
    expect(Math.abs(full - reference.loss)).toBeLessThan(1e-6)
    tf.dispose([h, w, y, frozenW, frozenT, frozen.value, frozen.grad, trained.value, ...Object.values(trained.grads)])
    expect(tf.memory().numTensors).toBe(before)
  })

  it('every label ignored: loss 0 and zero gradients (no division by zero); a single position predicts nothing', () => {
    const none = new Int32Array(batch * length).fill(-100)
    const h = tf.tensor3d(hidden, [batch, length, size])
    const w = tf.tensor2d(weight, [vocab, size])
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => causalLmLoss(x as tf.Tensor3D, tf.tensor2d(none, [batch, length], 'int32'), { weight: w, trainable: false }, 5))(h)
    expect(value.dataSync()[0]).toBe(0)
    expect(Math.max(...grad.dataSync().map(Math.abs))).toBe(0)
    const one = causalLmLoss(tf.zeros([2, 1, size]) as tf.Tensor3D, tf.zeros([2, 1], 'int32'), { weight: w, trainable: false })
    expect(one.dataSync()[0]).toBe(0)
    expect(() => causalLmLoss(h, tf.zeros([batch, length + 1], 'int32'), { weight: w, trainable: false })).toThrow(/labels of shape \[3, 8\] do not match the inputs' \[3, 7\]/)
  })

  it('holds one chunk of logits at a time: the peak of a step at a 32,000-entry vocabulary is a small part of one [tokens, vocab] copy', async () => {
    const tokens = 4 * 64
    const wide = 32_000
    const h = tf.randomNormal([4, 64, 16]) as tf.Tensor3D
    const w = tf.randomNormal([wide, 16]) as tf.Tensor2D
    const wT = tf.transpose(w) as tf.Tensor2D
    const y = tf.randomUniform([4, 64], 0, wide, 'int32')
    const chunk = 16
    const profile = await tf.profile(() => {
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => causalLmLoss(x as tf.Tensor3D, y, { weight: w, weightT: wT, trainable: false }, chunk))(h)
      tf.dispose([value, grad])
    })
    const fullLogits = tokens * wide * 4
    const inputs = (h.size + w.size + wT.size + y.size) * 4
    // Above the inputs: a few chunk-sized copies at once (logits, softmax, one-hot, their difference), never the full logits.
    const above = profile.peakBytes - inputs
    console.info(`peak above the inputs ${(above / 2 ** 20).toFixed(1)} MiB; one full [${tokens}, ${wide}] logits copy ${(fullLogits / 2 ** 20).toFixed(1)} MiB`)
    expect(above).toBeLessThan(3.5 * chunk * wide * 4)
    expect(above).toBeLessThan(fullLogits / 2)
    tf.dispose([h, w, wT, y])
  })

  it('the default chunk keeps 16 M logits: 110 positions for Qwen2’s 151,936 entries, all of them for a tiny vocabulary', () => {
    expect(lossChunkTokens(151_936)).toBe(110)
    expect(lossChunkTokens(50_257)).toBe(333)
    expect(lossChunkTokens(1)).toBe(2 ** 24)
  })
})
