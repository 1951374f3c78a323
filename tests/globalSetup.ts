import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { processAlive } from '../src/main/engine/io/processes'

/**
 * Every test run writes its scratch folders under tests/.tmp/run-<pid> (SIVA_TEST_TMP, which the test
 * workers inherit) and removes it when the run ends. A run that was killed leaves its folder behind; the
 * next run removes every folder whose run is no longer alive, so tests/.tmp does not grow run after run.
 */
const base = fileURLToPath(new URL('./.tmp', import.meta.url))

export default function setup(): () => void {
  mkdirSync(base, { recursive: true })
  for (const entry of readdirSync(base)) {
    const pid = /^run-(\d+)$/.exec(entry)?.[1]
    if (pid !== undefined && processAlive(Number(pid))) continue // another run, in progress now
    rmSync(join(base, entry), { recursive: true, force: true })
  }
  const dir = join(base, `run-${process.pid}`)
  mkdirSync(dir, { recursive: true })
  process.env.SIVA_TEST_TMP = dir
  return () => rmSync(dir, { recursive: true, force: true })
}
