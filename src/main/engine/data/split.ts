/**
 * Seeded, reproducible splitting and shuffling. Same seed, same data → same split and the same order
 * every epoch, on every machine: runs can be compared and resumed.
 */

/** SplitMix64-style 32-bit generator: tiny, fast, and good enough to shuffle data (not for crypto). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    z = (z ^ (z >>> 16)) >>> 0
    return z / 4294967296
  }
}

/** Fisher–Yates, in place. */
export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

/** The order of `count` examples in a given epoch: a fresh permutation per (seed, epoch). */
export function epochOrder(count: number, seed: number, epoch: number): Uint32Array {
  const order = Array.from({ length: count }, (_, i) => i)
  shuffleInPlace(order, seededRandom((seed ^ Math.imul(epoch + 1, 0x27d4eb2d)) >>> 0))
  return Uint32Array.from(order)
}

export interface Split {
  /** Indices into the examples, each set sorted ascending. */
  train: number[]
  validation: number[]
}

/**
 * Stratified train/validation split: each class contributes round(fraction · its count) examples to
 * validation (at least one when it has two or more, never all of them), so rare classes are not lost
 * from either side. `labels[i]` is example i's class (undefined for regression: then a plain split).
 */
export function stratifiedSplit(labels: readonly (string | undefined)[], validationFraction: number, seed: number): Split {
  if (!(validationFraction > 0 && validationFraction < 1)) throw new RangeError(`the validation fraction must be in (0, 1), got ${validationFraction}`)
  const random = seededRandom(seed)
  const groups = new Map<string, number[]>()
  labels.forEach((label, i) => {
    const key = label ?? '\u0000all'
    const group = groups.get(key)
    if (group) group.push(i)
    else groups.set(key, [i])
  })
  const train: number[] = []
  const validation: number[] = []
  // Classes in a fixed order so the random stream does not depend on insertion order.
  for (const key of [...groups.keys()].sort()) {
    const members = shuffleInPlace(groups.get(key)!, random)
    const wanted = Math.round(validationFraction * members.length)
    const take = members.length < 2 ? 0 : Math.min(members.length - 1, Math.max(1, wanted))
    validation.push(...members.slice(0, take))
    train.push(...members.slice(take))
  }
  return { train: train.sort((a, b) => a - b), validation: validation.sort((a, b) => a - b) }
}
