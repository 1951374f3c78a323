import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot, testTmpRoot } from './paths'

/**
 * The real Hugging Face stack, offline: ../shared/hfref runs transformers 4.44 and peft 0.12 (vendored,
 * pure Python) on Debian's /usr/bin/python3 with python3-torch. Tests use it as the reference: its
 * make_fixtures.py writes tiny checkpoints with the real classes' save_pretrained, check_export.py loads
 * exports with the real from_pretrained / PeftModel (tests/reference/check_exports.py runs many in one
 * process), and scripts under tests/reference import `hfenv`.
 */
export const hfrefDir = join(repoRoot, '..', 'shared', 'hfref')
export const hfPython = '/usr/bin/python3'

/** The environment hfref's env.sh sets: vendored packages first, offline, no bytecode, cache under the test tmp. */
export function hfEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PYTHONPATH: `${join(hfrefDir, 'vendor')}:${hfrefDir}`,
    PYTHONDONTWRITEBYTECODE: '1',
    HF_HUB_OFFLINE: '1',
    TRANSFORMERS_OFFLINE: '1',
    HF_DATASETS_OFFLINE: '1',
    HF_HUB_DISABLE_TELEMETRY: '1',
    HF_HUB_DISABLE_PROGRESS_BARS: '1',
    TOKENIZERS_PARALLELISM: 'false',
    TRANSFORMERS_NO_ADVISORY_WARNINGS: '1',
    HF_HOME: join(testTmpRoot(), 'hf-home'),
    OMP_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1'
  }
}

/** Runs `/usr/bin/python3 -B script args…` in hfref's environment; a failure throws with python's stderr. */
export function runHfPython(script: string, args: string[], options: { input?: string; allowFailure?: boolean; cwd?: string } = {}): SpawnSyncReturns<string> {
  const result = spawnSync(hfPython, ['-B', script, ...args], {
    input: options.input,
    ...(options.cwd && { cwd: options.cwd }),
    encoding: 'utf8',
    env: hfEnv(),
    maxBuffer: 256 << 20
  })
  if (result.error) throw new Error(`cannot run ${hfPython} ${script}: ${result.error.message} (hfref needs Debian's python3 with python3-torch; see ../shared/hfref/README.md)`)
  if (result.status !== 0 && !options.allowFailure) {
    throw new Error(`${script} ${args.join(' ')} failed (exit ${result.status}):\n${result.stderr.slice(-4000)}\n${result.stdout.slice(-4000)}`)
  }
  return result
}

/** Runs a reference script (a file name in tests/reference, or a path) with JSON on stdin; parses its stdout. */
export function hfReference<T = unknown>(script: string, args: string[], input?: unknown): T {
  const path = script.includes('/') ? script : join(repoRoot, 'tests', 'reference', script)
  const result = runHfPython(path, args, { input: input === undefined ? undefined : JSON.stringify(input) })
  return JSON.parse(result.stdout) as T
}

let fixturesDir: string | undefined

/**
 * The folder of hfref's fixtures (gpt2-lm, gpt2-cls, bert-cls, bert-mlm, …, deberta-v2-cls; see its
 * README), written by make_fixtures.py with the real save_pretrained once per test run and shared by the
 * run's test files: each writes its own copy to a temporary folder and renames it into place; the first
 * rename wins, the others are dropped (make_fixtures.py writes the same bytes every time).
 */
export function hfFixtures(): string {
  if (fixturesDir) return fixturesDir
  const target = join(testTmpRoot(), 'hf-fixtures')
  if (!existsSync(join(target, '.complete'))) {
    const scratch = mkdtempSync(join(testTmpRoot(), 'hf-fixtures-writing-'))
    runHfPython(join(hfrefDir, 'make_fixtures.py'), [scratch])
    writeFileSync(join(scratch, '.complete'), '')
    try {
      renameSync(scratch, target)
    } catch {
      rmSync(scratch, { recursive: true, force: true }) // another test file got there first
    }
    if (!existsSync(join(target, '.complete'))) throw new Error(`make_fixtures.py wrote nothing usable to ${target}`)
  }
  return (fixturesDir = target)
}

/** One fixture folder, e.g. hfFixture('bert-mlm'). */
export function hfFixture(name: string): string {
  const dir = join(hfFixtures(), name)
  if (!existsSync(join(dir, 'config.json'))) throw new Error(`hfref has no fixture ${name} (make_fixtures.py --list)`)
  return dir
}

export interface CheckExportReport {
  ok: boolean
  problems: string[]
  notes: string[]
  messages: string[]
  merged_class?: string
  merged_loading_info?: Record<string, string[]>
  base_loading_info?: Record<string, string[]>
  adapter_config?: Record<string, unknown>
  peft_reference_config?: Record<string, unknown>
  auto_peft?: string
  lora_effect_on_logits?: number
  rel_err_peft_vs_merged?: number
  rel_err_unloaded_vs_merged?: number
  [key: string]: unknown
}
