import { spawnSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { svd, SvdConvergenceError, SvdInputError } from '../../../src/main/engine/linalg'
import { svdWithSwitches } from '../../../src/main/engine/linalg/svd'
import { AnalysisPool } from '../../../src/main/workers/analysisPool'
import { pythonWithNumpy } from '../../helpers/paths'

/** A 16×8 matrix of well-spread values times `scale` (the same values numpy is given below). */
function scaled(scale: number, m = 16, n = 8): Float64Array {
  return Float64Array.from({ length: m * n }, (_, i) => Math.sin(i * 1.7 + 0.3) * scale)
}

/** numpy's (LAPACK dgesdd's) singular values of the row-major m×n matrix, passed as its exact bytes. */
function numpySingularValues(a: Float64Array, m: number, n: number): number[] {
  const script = 'import sys,json,numpy as np; a=np.frombuffer(bytes.fromhex(sys.argv[1]),"<f8").reshape(int(sys.argv[2]),int(sys.argv[3])); print(json.dumps([float(x) for x in np.linalg.svd(a,compute_uv=False)]))'
  const run = spawnSync(pythonWithNumpy(), ['-c', script, Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex'), String(m), String(n)], { encoding: 'utf8' })
  if (run.status !== 0) throw new Error(run.stderr)
  return JSON.parse(run.stdout) as number[]
}

const pool = new AnalysisPool(1)
afterAll(() => pool.close())

describe('SVD of matrices at the ends of the float64 range', () => {
  // The QR sweeps' convergence tests compare entries with ε·|d|, which is 0 for subnormal d: the kernel
  // alone sweeps until its iteration limit (the only real input found that makes it fail).
  it('subnormal entries: the kernel alone does not converge, and says which matrix', () => {
    const a = scaled(1e-320)
    expect(() => svdWithSwitches(a, 16, 8, { vectors: false, name: 'tensor h.0.mlp.c_fc.weight' }, { noScaling: true })).toThrow(
      new SvdConvergenceError('SVD of the 16×8 tensor h.0.mlp.c_fc.weight did not converge')
    )
  })

  it('subnormal entries: brought into range by a power of two first, σ are numpy’s', () => {
    const a = scaled(1e-320)
    const ours = svd(a, 16, 8, { vectors: true })
    const reference = numpySingularValues(a, 16, 8)
    // Subnormal inputs carry only a few significant bits; numpy (which scales the same way) agrees to rounding.
    ours.s.forEach((s, i) => expect(Math.abs(s - reference[i]!)).toBeLessThanOrEqual(1e-9 * reference[0]!))
    expect(ours.s[0]).toBeGreaterThan(0)
  })

  it('entries near 1e300: σ as numpy finds them, to 1e-13 relative', () => {
    const a = scaled(1e300)
    const ours = svd(a, 16, 8, { vectors: false })
    const reference = numpySingularValues(a, 16, 8)
    ours.s.forEach((s, i) => expect(Math.abs(s - reference[i]!)).toBeLessThanOrEqual(1e-13 * reference[0]!))
  })

  it('scaling leaves a matrix in the ordinary range bit for bit as it was', () => {
    const a = scaled(0.02)
    const plain = svdWithSwitches(a, 16, 8, { vectors: true }, { noScaling: true })
    const ours = svd(a, 16, 8, { vectors: true })
    expect(Buffer.from(ours.s.buffer).equals(Buffer.from(plain.s.buffer))).toBe(true)
    expect(Buffer.from(ours.u!.buffer).equals(Buffer.from(plain.u!.buffer))).toBe(true)
    expect(Buffer.from(ours.vt!.buffer).equals(Buffer.from(plain.vt!.buffer))).toBe(true)
  })

  it('singular values beyond float64 are an input error naming the matrix, not Infinity', () => {
    expect(() => svd(scaled(1.7e308), 16, 8, { name: 'tensor h.3.attn.c_proj.weight' })).toThrow(SvdInputError)
    expect(() => svd(scaled(1.7e308), 16, 8, { name: 'tensor h.3.attn.c_proj.weight' })).toThrow(
      /^SVD of the 16×8 tensor h\.3\.attn\.c_proj\.weight: its largest singular value, about 9\.9e\+308, is beyond the largest float64 \(1\.8e\+308\)$/
    )
  })

  it('a NaN is named with the matrix, row and column', () => {
    const a = scaled(1)
    a[5] = Number.NaN
    expect(() => svd(a, 16, 8, { name: 'tensor bert.encoder.layer.0.attention.self.query.weight' })).toThrow(
      new SvdInputError('tensor bert.encoder.layer.0.attention.self.query.weight holds NaN at row 0, column 5')
    )
    expect(() => svd(a, 16, 8)).toThrow(new SvdInputError('the matrix holds NaN at row 0, column 5'))
  })

  it('through the worker pool, errors name the job’s matrix', async () => {
    const a = scaled(1)
    a[8 * 3 + 2] = Number.POSITIVE_INFINITY
    await expect(pool.runSvd({ name: 'block k of tensor h.1.attn.c_attn.weight (columns 8–16)', m: 16, n: 8, matrix: a, vectors: true })).rejects.toMatchObject({
      name: 'SvdInputError',
      message: 'block k of tensor h.1.attn.c_attn.weight (columns 8–16) holds Infinity at row 3, column 2'
    })
    await expect(pool.runSvd({ name: 'tensor h.2.mlp.c_proj.weight', m: 16, n: 8, matrix: scaled(1.7e308), vectors: false })).rejects.toMatchObject({
      name: 'SvdInputError',
      message: expect.stringMatching(/^SVD of the 16×8 tensor h\.2\.mlp\.c_proj\.weight: its largest singular value/)
    })
  })
})
