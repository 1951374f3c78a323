import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

/** The shared Hugging Face fixtures (../shared/fixtures beside the repository). */
export const sharedFixtures = join(repoRoot, '..', 'shared', 'fixtures')
export const tinyGpt2 = join(sharedFixtures, 'tiny-random-gpt2')
if (!existsSync(tinyGpt2)) throw new Error(`the shared fixtures are missing: expected ${tinyGpt2}`)

/** This test run's scratch folder: tests/.tmp/run-<pid>, made and removed by tests/globalSetup.ts (gitignored). */
export function testTmpRoot(): string {
  const base = process.env.SIVA_TEST_TMP ?? join(repoRoot, 'tests', '.tmp')
  mkdirSync(base, { recursive: true })
  return base
}

/** A fresh folder in this run's scratch folder. */
export function tempDir(prefix: string): string {
  const base = testTmpRoot()
  const dir = mkdtempSync(join(base, `${prefix}-`))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  return dir
}

let python: string | undefined
/** A python3 that has numpy: the one on PATH, else Debian's. */
export function pythonWithNumpy(): string {
  if (python) return python
  for (const candidate of ['python3', '/usr/bin/python3']) {
    if (spawnSync(candidate, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0) return (python = candidate)
  }
  throw new Error('the reference checks need python3 with numpy (apt-get install python3-numpy)')
}
