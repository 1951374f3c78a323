// Stop-gap one-sided Jacobi SVD (accurate, slow): keeps the pipeline whole until the wasm SVD lands.
export interface SvdOptions { vectors?: boolean }
export interface SvdResult { m: number; n: number; rank: number; s: Float64Array; u?: Float64Array; vt?: Float64Array }
export class SvdInputError extends Error { override name = 'SvdInputError' }

/** One-sided Jacobi (Hestenes) on the columns of A (or Aᵀ when wide): slow, but accurate. */
export function svd(a: Float64Array, m: number, n: number, options: SvdOptions = {}): SvdResult {
  if (!(Number.isInteger(m) && Number.isInteger(n) && m > 0 && n > 0) || a.length !== m * n) throw new SvdInputError(`matrix data of length ${a.length} does not match ${m}×${n}`)
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new SvdInputError(`non-finite value at ${i}`)
  const wide = n > m
  const rows = wide ? n : m
  const cols = wide ? m : n
  // Column-major working copy G (rows×cols), V (cols×cols)
  const g = new Float64Array(rows * cols)
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    if (wide) g[i * rows + j] = a[i * n + j]
    else g[j * rows + i] = a[i * n + j]
  }
  const v = new Float64Array(cols * cols)
  for (let j = 0; j < cols; j++) v[j * cols + j] = 1
  const eps = 2.220446049250313e-16
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false
    for (let p = 0; p < cols - 1; p++) for (let q = p + 1; q < cols; q++) {
      let alpha = 0, beta = 0, gamma = 0
      const op = p * rows, oq = q * rows
      for (let i = 0; i < rows; i++) { const x = g[op + i], y = g[oq + i]; alpha += x * x; beta += y * y; gamma += x * y }
      if (Math.abs(gamma) <= eps * Math.sqrt(alpha * beta) || gamma === 0) continue
      rotated = true
      const zeta = (beta - alpha) / (2 * gamma)
      const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta))
      const c = 1 / Math.sqrt(1 + t * t), s = c * t
      for (let i = 0; i < rows; i++) { const x = g[op + i], y = g[oq + i]; g[op + i] = c * x - s * y; g[oq + i] = s * x + c * y }
      const vp = p * cols, vq = q * cols
      for (let i = 0; i < cols; i++) { const x = v[vp + i], y = v[vq + i]; v[vp + i] = c * x - s * y; v[vq + i] = s * x + c * y }
    }
    if (!rotated) break
  }
  const norms = new Float64Array(cols)
  for (let j = 0; j < cols; j++) { let t = 0; for (let i = 0; i < rows; i++) t += g[j * rows + i] ** 2; norms[j] = Math.sqrt(t) }
  const order = Array.from({ length: cols }, (_, j) => j).sort((x, y) => norms[y] - norms[x])
  const s = Float64Array.from(order, (j) => norms[j])
  if (options.vectors === false) return { m, n, rank: cols, s }
  // left vectors: G columns / σ (rows×cols) ; right: V columns
  const left = new Float64Array(rows * cols) // row-major rows×r
  const right = new Float64Array(cols * cols) // row-major r×cols (i.e. Vᵀ)
  order.forEach((j, k) => {
    const sigma = norms[j]
    for (let i = 0; i < rows; i++) left[i * cols + k] = sigma > 0 ? g[j * rows + i] / sigma : 0
    for (let i = 0; i < cols; i++) right[k * cols + i] = v[j * cols + i]
  })
  if (!wide) return { m, n, rank: cols, s, u: left, vt: right }
  // A = (Aᵀ)ᵀ = (L Σ Rᵀ)ᵀ = R Σ Lᵀ: U = R (m×r), Vᵀ = Lᵀ (r×n)
  const u = new Float64Array(m * cols)
  for (let i = 0; i < m; i++) for (let k = 0; k < cols; k++) u[i * cols + k] = right[k * cols + i]
  const vt = new Float64Array(cols * n)
  for (let k = 0; k < cols; k++) for (let j = 0; j < n; j++) vt[k * n + j] = left[j * cols + k]
  return { m, n, rank: cols, s, u, vt }
}
