// Kept apart from svd.ts so that checking values does not load the WebAssembly kernel.

/** The first NaN/Infinity of a row-major matrix with n columns, as "NaN at row i, column j", or undefined. */
export function firstNonFinite(a: Float64Array, n: number): string | undefined {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) return `${a[i]} at row ${Math.floor(i / n)}, column ${i % n}`
  }
  return undefined
}
