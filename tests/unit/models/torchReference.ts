import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { repoRoot } from '../../helpers/paths'

/** Debian's python3, which has torch and numpy here; the models' reference scripts need both. */
const python = '/usr/bin/python3'

/**
 * Run a torch reference script (an absolute path, a path from the repository root, or a file name in
 * tests/reference) with `args`, `input` as JSON on stdin; returns its stdout parsed as JSON. A failing
 * script fails the test with python's stderr.
 */
export function runTorchReference(script: string, args: string[], input: unknown): unknown {
  const path = isAbsolute(script) ? script : existsSync(join(repoRoot, script)) ? join(repoRoot, script) : join(repoRoot, 'tests', 'reference', script)
  const result = spawnSync(python, [path, ...args], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 256 << 20 })
  if (result.error) throw new Error(`cannot run ${python} ${path}: ${result.error.message} (the model references need python3 with torch and numpy)`)
  if (result.status !== 0) throw new Error(`${script} ${args.join(' ')} failed (exit ${result.status}):\n${result.stderr}`)
  return JSON.parse(result.stdout) as unknown
}
