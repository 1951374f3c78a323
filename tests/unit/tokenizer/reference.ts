import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { pythonWithNumpy, repoRoot } from '../../helpers/paths'

/** A sentence, or a sentence pair. */
export type ReferenceInput = string | [string, string]
export interface ReferenceEncoding {
  ids: number[]
  type_ids: number[]
}

/**
 * Runs one of the independent python references (tests/reference/*_reference.py) on the inputs; any failure
 * to run it fails the test that asked, with python's own message.
 */
export function runReference(script: 'wordpiece_reference.py' | 'bpe_reference.py', args: string[], inputs: ReferenceInput[]): ReferenceEncoding[] {
  // Remembered for the test file: the JS and native engines' runs of a case share one python run.
  const key = JSON.stringify([script, args, inputs])
  const known = answered.get(key)
  if (known) return known
  const out = runReferenceOnce(script, args, inputs)
  answered.set(key, out)
  return out
}

const answered = new Map<string, ReferenceEncoding[]>()

function runReferenceOnce(script: string, args: string[], inputs: ReferenceInput[]): ReferenceEncoding[] {
  const file = join(repoRoot, 'tests', 'reference', script)
  const result = spawnSync(pythonWithNumpy(), [file, ...args], { input: JSON.stringify(inputs), encoding: 'utf8', maxBuffer: 256 << 20 })
  if (result.error) throw new Error(`could not run the reference ${script}: ${result.error.message}`)
  if (result.status !== 0) throw new Error(`the reference ${script} failed (exit ${result.status}):\n${result.stderr}`)
  const out = JSON.parse(result.stdout) as ReferenceEncoding[]
  if (!Array.isArray(out) || out.length !== inputs.length) throw new Error(`the reference ${script} answered ${out.length} encodings for ${inputs.length} inputs`)
  return out
}
