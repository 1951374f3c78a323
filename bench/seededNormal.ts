/**
 * N(0, std²) values from a seeded xorshift32 and Box–Muller, written into `out`: the same numbers on every
 * run and machine, so benchmark inputs (random matrices, random checkpoints) compare across runs.
 */
export function fillNormal<T extends Float32Array | Float64Array>(out: T, std: number, seed: number): T {
  let state = seed >>> 0 || 1
  const uniform = (): number => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return ((state >>> 0) + 0.5) / 4294967296
  }
  for (let i = 0; i < out.length; i += 2) {
    const radius = std * Math.sqrt(-2 * Math.log(uniform()))
    const angle = 2 * Math.PI * uniform()
    out[i] = radius * Math.cos(angle)
    if (i + 1 < out.length) out[i + 1] = radius * Math.sin(angle)
  }
  return out
}
