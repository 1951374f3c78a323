/**
 * The method catalogue: what each fine-tuning method is, written once. The engine (peft/, training
 * defaults), the CLI, the run report and the renderer (Layers step, live count, Train defaults) read it
 * here instead of keeping copies that drift apart. Pure: no tensors, no I/O.
 *
 * For an m×n matrix with r = min(m, n) singular values (DESIGN.md §1):
 * - siva, topk: k values train, k given or k = max(1, round(perc · r)), at most r;
 * - svdiff: all r; lora: rank · (m + n); full: m · n (and every other weight of the model); head: none.
 */

export const methodNames = ['siva', 'svdiff', 'topk', 'lora', 'full', 'head'] as const
export type MethodName = (typeof methodNames)[number]

/** 'adapter': wraps each chosen matrix; 'head': only the task head trains; 'full': every weight trains. */
export type MethodKind = 'adapter' | 'head' | 'full'

export interface MethodInfo {
  name: MethodName
  /** The method's name as the UI shows it. */
  label: string
  /** What it trains, in a few words ("SiVA — the k smallest singular values"). */
  summary?: string
  /** Trains singular values of each matrix in the matrix's own basis: spectra are known without a new SVD. */
  spectral: boolean
  kind: MethodKind
  /** Spectral methods: which singular values train. */
  band?: 'smallest' | 'largest' | 'all'
  /** What sets how much of each matrix trains: k (or perc), LoRA's rank, or nothing. */
  amount: 'k' | 'rank' | 'none'
  /** The adapter's (or, for full, the model's) learning rate a run starts from. */
  defaultLr: number
}

// Spectral methods move a few singular values: they take much larger steps than LoRA or full fine-tuning.
const catalogue: Readonly<Record<MethodName, MethodInfo>> = {
  siva: { name: 'siva', label: 'SiVA', summary: 'the k smallest singular values', spectral: true, kind: 'adapter', band: 'smallest', amount: 'k', defaultLr: 1e-2 },
  svdiff: { name: 'svdiff', label: 'SVDiff', summary: 'every singular value', spectral: true, kind: 'adapter', band: 'all', amount: 'none', defaultLr: 1e-2 },
  topk: { name: 'topk', label: 'Top-k', summary: 'the k largest singular values', spectral: true, kind: 'adapter', band: 'largest', amount: 'k', defaultLr: 1e-2 },
  lora: { name: 'lora', label: 'LoRA', summary: 'rank-r update', spectral: false, kind: 'adapter', amount: 'rank', defaultLr: 5e-4 },
  full: { name: 'full', label: 'Full fine-tuning', spectral: false, kind: 'full', amount: 'none', defaultLr: 2e-5 },
  head: { name: 'head', label: 'Linear probe', summary: 'the task head only', spectral: false, kind: 'head', amount: 'none', defaultLr: 1e-3 }
}

/** The fraction of singular values a spectral method trains when neither perc nor k is given. */
export const defaultPerc = 0.1
/** LoRA's rank when none is given. */
export const defaultRank = 8
/** The LoRA rank every count is compared with ("LoRA r = 8 on the same targets"). */
export const comparisonLoraRank = 8
/** The largest LoRA rank a request from the app may ask for. */
export const maxRequestRank = 4096

export function isMethodName(name: string): name is MethodName {
  return (methodNames as readonly string[]).includes(name)
}

/** A method's entry; an unknown name is refused with the list of known ones. */
export function methodInfo(name: string): MethodInfo {
  if (!isMethodName(name)) throw new Error(`unknown method "${name}"; choose one of ${methodNames.join(', ')}`)
  return catalogue[name]
}

/** "SiVA — the k smallest singular values", "Full fine-tuning": how a list of methods names each. */
export function methodTitle(name: MethodName): string {
  const info = catalogue[name]
  return info.summary ? `${info.label} — ${info.summary}` : info.label
}

export const spectralMethodNames: readonly MethodName[] = methodNames.filter((name) => catalogue[name].spectral)

/** How much of each matrix trains: a fraction or a count of singular values, or a LoRA rank. */
export interface Amount {
  perc?: number
  k?: number
  rank?: number
}

/**
 * Why the engine would refuse this amount for a method, or undefined when it accepts it. Only what the
 * method reads is checked: k and perc for siva and topk (k wins over perc), rank for LoRA; svdiff, full
 * and head read none of them. A k above a matrix's r is accepted: all r values train (see bandSize).
 */
export function amountError(method: MethodName, amount: Amount): string | undefined {
  const info = catalogue[method]
  if (info.amount === 'k') {
    if (amount.k !== undefined) return Number.isInteger(amount.k) && amount.k >= 1 ? undefined : `k must be a positive integer, got ${amount.k}`
    const perc = amount.perc ?? defaultPerc
    return perc > 0 && perc <= 1 ? undefined : `perc must be in (0, 1], got ${perc}`
  }
  if (info.amount === 'rank') {
    const rank = amount.rank ?? defaultRank
    return Number.isInteger(rank) && rank >= 1 ? undefined : `LoRA rank must be a positive integer, got ${rank}`
  }
  return undefined
}

/**
 * k of a spectral method on a matrix with r singular values: k itself when given (a positive integer; more
 * than r trains all r), else max(1, round(perc · r)) with perc defaulting to 0.1. A fractional or
 * non-positive k and a perc outside (0, 1] are refused (RangeError), never rounded.
 */
export function bandSize(r: number, amount: Pick<Amount, 'perc' | 'k'>): number {
  if (amount.k !== undefined) {
    if (!(Number.isInteger(amount.k) && amount.k >= 1)) throw new RangeError(`k must be a positive integer, got ${amount.k}`)
    return Math.min(amount.k, r)
  }
  const perc = amount.perc ?? defaultPerc
  if (!(perc > 0 && perc <= 1)) throw new RangeError(`perc must be in (0, 1], got ${perc}`)
  return Math.min(r, Math.max(1, Math.round(perc * r)))
}

/** LoRA's rank from an amount (8 when absent); a fractional or non-positive rank is refused (RangeError). */
export function loraRank(amount: Pick<Amount, 'rank'>): number {
  const rank = amount.rank ?? defaultRank
  if (!(Number.isInteger(rank) && rank >= 1)) throw new RangeError(`LoRA rank must be a positive integer, got ${rank}`)
  return rank
}

/** The band [start, end) of the descending singular values a spectral method trains when k of r train. */
export function trainedBand(method: MethodName, r: number, k: number): [number, number] | undefined {
  switch (catalogue[method].band) {
    case 'smallest':
      return [r - k, r]
    case 'largest':
      return [0, k]
    case 'all':
      return [0, r]
    default:
      return undefined
  }
}

/**
 * Trainable parameters a method adds on one [out, in] matrix (bias excluded: no method trains one).
 * For full this is the matrix's own m · n; a full run also trains every other weight of the model.
 * Throws RangeError for an amount amountError refuses.
 */
export function trainable(method: MethodName, shape: readonly [number, number], amount: Amount = {}): number {
  const [m, n] = shape
  const r = Math.min(m, n)
  switch (method) {
    case 'siva':
    case 'topk':
      return bandSize(r, amount)
    case 'svdiff':
      return r
    case 'lora':
      return loraRank(amount) * (m + n)
    case 'full':
      return m * n
    case 'head':
      return 0
  }
}

/**
 * A per-layer override applied to the global amount, as every run resolves it: an override's k wins, an
 * override's perc makes a global k irrelevant, an override's rank replaces the global rank.
 */
export function effectiveAmount(global: Amount, override?: Amount): Amount {
  const k = override?.k ?? (override?.perc !== undefined ? undefined : global.k)
  const perc = override?.perc ?? global.perc
  const rank = override?.rank ?? global.rank
  return { ...(k !== undefined && { k }), ...(perc !== undefined && { perc }), ...(rank !== undefined && { rank }) }
}
