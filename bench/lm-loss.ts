// The causal-LM loss at Qwen2's head shapes (hidden 896, vocabulary 151,936, tied): the chunked loss
// (models/lmLoss.ts, what training runs) against the loss of the full logits (the LM head's [tokens, vocab]
// output, then loss.ts's taskLoss), the reference measured in the same run. For each way, one forward and
// backward pass (d loss / d hidden states) on the wasm backend:
//   peak   tf.profile's peakBytes above the inputs (every tensor alive at the worst moment)
//   time   the median of 3 passes after one warm-up
// and the ratio of each against the reference. Both losses are printed (they must agree to float32 rounding).
//   npm run bench:lm-loss              (or: node bin/run-ts.mjs bench/lm-loss.ts [--tokens N], default 2 × 128)
import * as tf from '@tensorflow/tfjs'
import { selectBackend } from '../src/main/engine/backend'
import { causalLmLoss, lossChunkTokens } from '../src/main/engine/models/lmLoss'
import { taskLoss } from '../src/main/engine/models/loss'
import { median } from './median'

const hidden = 896
const vocab = 151_936
const at = process.argv.indexOf('--tokens')
const length = at > 0 ? Number(process.argv[at + 1]) : 128
const batch = 2

async function main(): Promise<void> {
  const backend = await selectBackend('wasm')
  const h = tf.randomNormal([batch, length, hidden], 0, 1, 'float32', 1) as tf.Tensor3D
  const w = tf.randomNormal([vocab, hidden], 0, 0.02, 'float32', 2) as tf.Tensor2D
  const wT = tf.transpose(w) as tf.Tensor2D
  const labels = tf.randomUniform([batch, length], 0, vocab, 'int32', 3) as tf.Tensor2D
  const inputs = (h.size + w.size + wT.size + labels.size) * 4
  const ways: Record<string, (x: tf.Tensor3D) => tf.Scalar> = {
    'full logits (reference)': (x) => taskLoss('causal-lm', tf.matMul(x.reshape([-1, hidden]), wT).reshape([batch, length, vocab]), labels),
    chunked: (x) => causalLmLoss(x, labels, { weight: w, weightT: wT, trainable: false })
  }
  console.log(`backend ${backend.name}; batch ${batch} × ${length} tokens, hidden ${hidden}, vocabulary ${vocab}; chunks of ${lossChunkTokens(vocab)} positions`)
  const results: { name: string; peak: number; seconds: number; loss: number }[] = []
  for (const [name, loss] of Object.entries(ways)) {
    const pass = (): { value: tf.Scalar; grad: tf.Tensor } => tf.valueAndGrad((x: tf.Tensor) => loss(x as tf.Tensor3D))(h)
    const warm = pass()
    const value = (await warm.value.data())[0]!
    tf.dispose([warm.value, warm.grad])
    const profile = await tf.profile(() => {
      const r = pass()
      tf.dispose([r.value, r.grad])
    })
    const times: number[] = []
    for (let i = 0; i < 3; i++) {
      const start = performance.now()
      const r = pass()
      await r.grad.data()
      tf.dispose([r.value, r.grad])
      times.push((performance.now() - start) / 1000)
    }
    results.push({ name, peak: profile.peakBytes - inputs, seconds: median(times), loss: value })
  }
  const reference = results[0]!
  for (const r of results) {
    console.log(`${r.name.padEnd(24)} loss ${r.loss.toFixed(6)}  peak ${(r.peak / 2 ** 20).toFixed(0).padStart(6)} MiB (${(r.peak / reference.peak).toFixed(3)}× the reference)  time ${r.seconds.toFixed(2)} s (${(r.seconds / reference.seconds).toFixed(2)}×)`)
  }
  tf.dispose([h, w, wT, labels])
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
