import * as tf from '@tensorflow/tfjs'

/**
 * AdamW (Loshchilov & Hutter) as torch.optim.AdamW computes it: the weight decays by lr·λ before the
 * Adam step (decoupled from the gradient), bias-corrected moments, ε added after the square root.
 * Parameter groups carry their own learning rate and decay (the head and the adapter train at different
 * rates); a schedule scales every group's rate per step.
 */
export interface ParamGroup {
  name: string
  variables: tf.Variable[]
  lr: number
  weightDecay: number
}

export interface AdamWOptions {
  beta1?: number
  beta2?: number
  epsilon?: number
}

/** Everything needed to resume exactly: the step count and both moments of every variable. */
export interface OptimizerState {
  step: number
  moments: { m: Float32Array; v: Float32Array }[]
}

export class AdamW {
  private stepCount = 0
  private readonly beta1: number
  private readonly beta2: number
  private readonly epsilon: number
  private readonly m: tf.Variable[]
  private readonly v: tf.Variable[]
  private readonly entries: { variable: tf.Variable; group: ParamGroup }[]

  constructor(
    readonly groups: ParamGroup[],
    options: AdamWOptions = {}
  ) {
    this.beta1 = options.beta1 ?? 0.9
    this.beta2 = options.beta2 ?? 0.999
    this.epsilon = options.epsilon ?? 1e-8
    this.entries = groups.flatMap((group) => group.variables.map((variable) => ({ variable, group })))
    this.m = this.entries.map(({ variable }) => tf.tidy(() => tf.variable(tf.zerosLike(variable), false)))
    this.v = this.entries.map(({ variable }) => tf.tidy(() => tf.variable(tf.zerosLike(variable), false)))
  }

  get step(): number {
    return this.stepCount
  }

  /** All variables, in the order `apply` expects their gradients. */
  get variables(): tf.Variable[] {
    return this.entries.map((e) => e.variable)
  }

  /** One update with `gradients[i]` for `variables[i]`; each group's rate is multiplied by `lrFactor`. */
  apply(gradients: tf.Tensor[], lrFactor = 1): void {
    if (gradients.length !== this.entries.length) throw new Error(`expected ${this.entries.length} gradients, got ${gradients.length}`)
    this.stepCount++
    const t = this.stepCount
    const correction1 = 1 - this.beta1 ** t
    const correction2 = 1 - this.beta2 ** t
    tf.tidy(() => {
      this.entries.forEach(({ variable, group }, i) => {
        const g = gradients[i]!
        const lr = group.lr * lrFactor
        const m = tf.add(tf.mul(this.m[i]!, this.beta1), tf.mul(g, 1 - this.beta1))
        const v = tf.add(tf.mul(this.v[i]!, this.beta2), tf.mul(tf.square(g), 1 - this.beta2))
        this.m[i]!.assign(m)
        this.v[i]!.assign(v)
        const decayed = group.weightDecay === 0 ? variable : tf.mul(variable, 1 - lr * group.weightDecay)
        const denominator = tf.add(tf.div(tf.sqrt(v), Math.sqrt(correction2)), this.epsilon)
        variable.assign(tf.sub(decayed, tf.mul(tf.div(m, denominator), lr / correction1)))
      })
    })
  }

  /** Read asynchronously, every moment at once: WebGPU in Node has no synchronous read, and one wait beats many. */
  async state(): Promise<OptimizerState> {
    const step = this.stepCount
    const [m, v] = await Promise.all([Promise.all(this.m.map((t) => t.data() as Promise<Float32Array>)), Promise.all(this.v.map((t) => t.data() as Promise<Float32Array>))])
    return { step, moments: m.map((values, i) => ({ m: Float32Array.from(values), v: Float32Array.from(v[i]!) })) }
  }

  load(state: OptimizerState): void {
    if (state.moments.length !== this.entries.length) throw new Error(`optimizer state has ${state.moments.length} entries, the model ${this.entries.length}`)
    this.stepCount = state.step
    state.moments.forEach(({ m, v }, i) => {
      const shape = this.m[i]!.shape
      tf.tidy(() => {
        this.m[i]!.assign(tf.tensor(m, shape))
        this.v[i]!.assign(tf.tensor(v, shape))
      })
    })
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose()
  }
}

/**
 * The gradients' global L2 norm, as a scalar tensor the caller owns and reads: with the step's loss, in one
 * asynchronous read (loop.ts), so a GPU step waits once.
 */
export function globalNorm(gradients: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(gradients.map((g) => tf.sum(tf.square(g))))) as tf.Scalar)
}

/**
 * Scale gradients whose global L2 norm is `norm` down to at most `maxNorm`, as torch.nn.utils.clip_grad_norm_
 * (factor maxNorm / (norm + 1e-6), only when it is below 1). Returns the same array when nothing is scaled.
 */
export function clipToNorm(gradients: tf.Tensor[], norm: number, maxNorm: number): tf.Tensor[] {
  const factor = maxNorm / (norm + 1e-6)
  if (!(factor < 1)) return gradients
  return gradients.map((g) => tf.mul(g, factor))
}

export type ScheduleKind = 'linear' | 'cosine' | 'constant'

/**
 * The learning-rate factor at a step (0-based, the step about to be taken), as transformers' schedules:
 * linear warmup from 0, then linear decay to 0 at `totalSteps`, or a half cosine, or constant.
 */
export function learningRateFactor(step: number, options: { kind: ScheduleKind; warmupSteps: number; totalSteps: number }): number {
  const { kind, warmupSteps, totalSteps } = options
  if (step < warmupSteps) return step / Math.max(1, warmupSteps)
  if (kind === 'constant') return 1
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps)
  if (kind === 'linear') return Math.max(0, 1 - progress)
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)))
}
