/**
 * The evaluation metrics GLUE-style tasks report, on plain arrays: accuracy, F1 (binary for two classes,
 * macro otherwise), Matthews correlation, Pearson and Spearman correlation, and perplexity from a mean
 * token loss. Definitions as scikit-learn and scipy compute them (the tests compare with both).
 */

export function accuracy(predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  checkLengths(predicted, actual)
  let right = 0
  for (let i = 0; i < actual.length; i++) if (predicted[i] === actual[i]) right++
  return actual.length === 0 ? 0 : right / actual.length
}

/** Confusion counts per class: [true positives, false positives, false negatives]. */
function perClass(predicted: ArrayLike<number>, actual: ArrayLike<number>, classes: number): { tp: number[]; fp: number[]; fn: number[] } {
  const tp = new Array<number>(classes).fill(0)
  const fp = new Array<number>(classes).fill(0)
  const fn = new Array<number>(classes).fill(0)
  for (let i = 0; i < actual.length; i++) {
    const p = predicted[i]!
    const a = actual[i]!
    if (p === a) tp[a]!++
    else {
      fp[p]!++
      fn[a]!++
    }
  }
  return { tp, fp, fn }
}

const f1Of = (tp: number, fp: number, fn: number): number => (2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn))

/**
 * F1: for two classes, of class 1 (scikit-learn's average='binary', the GLUE convention for MRPC/QQP);
 * for more, the unweighted mean over classes (average='macro'). A class never predicted nor present
 * scores 0, as scikit-learn does with zero_division=0.
 */
export function f1(predicted: ArrayLike<number>, actual: ArrayLike<number>, classes: number): number {
  checkLengths(predicted, actual)
  const { tp, fp, fn } = perClass(predicted, actual, classes)
  if (classes === 2) return f1Of(tp[1]!, fp[1]!, fn[1]!)
  let sum = 0
  for (let c = 0; c < classes; c++) sum += f1Of(tp[c]!, fp[c]!, fn[c]!)
  return classes === 0 ? 0 : sum / classes
}

/** Matthews correlation coefficient, multiclass form (Gorodkin 2004), as sklearn.metrics.matthews_corrcoef. */
export function matthews(predicted: ArrayLike<number>, actual: ArrayLike<number>, classes: number): number {
  checkLengths(predicted, actual)
  const n = actual.length
  const predictedCount = new Array<number>(classes).fill(0)
  const actualCount = new Array<number>(classes).fill(0)
  let correct = 0
  for (let i = 0; i < n; i++) {
    predictedCount[predicted[i]!]!++
    actualCount[actual[i]!]!++
    if (predicted[i] === actual[i]) correct++
  }
  let pk = 0
  let pp = 0
  let tt = 0
  for (let c = 0; c < classes; c++) {
    pk += predictedCount[c]! * actualCount[c]!
    pp += predictedCount[c]! ** 2
    tt += actualCount[c]! ** 2
  }
  const tk = correct * n - pk
  const denominator = Math.sqrt((n * n - pp) * (n * n - tt))
  return denominator === 0 ? 0 : tk / denominator
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkLengths(x, y)
  const n = x.length
  if (n < 2) return NaN
  let mx = 0
  let my = 0
  for (let i = 0; i < n; i++) {
    mx += x[i]!
    my += y[i]!
  }
  mx /= n
  my /= n
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx
    const dy = y[i]! - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy)
}

/** Ranks 1…n with ties sharing their mean rank (scipy.stats.rankdata's 'average'). */
export function ranks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a]! - values[b]!)
  const out = new Float64Array(values.length)
  for (let i = 0; i < order.length; ) {
    let j = i
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++
    const rank = (i + j) / 2 + 1
    for (let t = i; t <= j; t++) out[order[t]!] = rank
    i = j + 1
  }
  return out
}

/** Spearman's rank correlation: Pearson's on average ranks (scipy.stats.spearmanr). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return pearson(ranks(x), ranks(y))
}

/** Perplexity from the mean token cross-entropy (natural log). */
export function perplexity(meanLoss: number): number {
  return Math.exp(meanLoss)
}

function checkLengths(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`predictions (${a.length}) and labels (${b.length}) differ in length`)
}

/**
 * The metric that picks a run's best checkpoint, per task: accuracy for classification, Pearson's r for
 * regression, the lowest loss for causal LM.
 */
export function keyMetric(task: 'classify' | 'regress' | 'causal-lm' | 'image-classify'): { key: 'accuracy' | 'pearson' | 'loss'; higherIsBetter: boolean } {
  if (task === 'causal-lm') return { key: 'loss', higherIsBetter: false }
  return { key: task === 'regress' ? 'pearson' : 'accuracy', higherIsBetter: true }
}
