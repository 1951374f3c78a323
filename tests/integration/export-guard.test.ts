import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs'
import { homedir, hostname, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyAdapter, exportRun, type ExportRequest } from '../../src/main/engine/export'
import { defaultTrainConfig, trainRun } from '../../src/main/engine/training/loop'
import type { TrainConfig } from '../../src/shared/training'
import { inProcessDecompose as decompose } from '../helpers/decompose'
import { repoRoot, tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'

/**
 * What an export may replace: with --force only a folder an earlier export wrote (its .siva-export marker),
 * never the run's base model, the run, the runs folder, home, the root or a folder holding one of them,
 * compared by real path. Leftovers of killed exports are cleaned on the next export, those of live ones
 * never. Full disks, read-only disks, locked folders and folders filled behind the export's back give a
 * message naming the output folder, and leave nothing half-written.
 */

const root = tempDir('export-guard')
const base = join(root, 'models', 'tiny-bert')
const runs = join(root, 'runs')
const runDir = join(runs, 'run')
const exports = join(root, 'exports')

function config(model: string, data: string): TrainConfig {
  return defaultTrainConfig({ model, data, task: 'classify', method: 'siva', maxSteps: 2, batchSize: 8, lr: 0.05, seed: 5, backend: 'wasm' })
}

async function train(trainConfig: TrainConfig, dir: string): Promise<void> {
  for await (const event of trainRun(trainConfig, dir, { decompose })) if (event.type === 'error') throw new Error(event.message)
}

function exportAll(request: Omit<ExportRequest, 'runDir'> & { runDir?: string }, onProgress?: () => void): ReturnType<typeof exportRun> {
  return exportRun({ runDir, checkpoint: 'last', ...request }, { decompose, ...(onProgress && { onProgress }) })
}

/** Every file under `dir` by relative path, with its sha256: equal snapshots mean nothing was touched. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {}
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    files[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex')
  }
  return files
}

/** The pid of a process that has exited (and been reaped): nothing runs under it now. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''])
  return child.pid!
}

const markerMessage = (dir: string): RegExp => new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was not written by siva export \\(no \\.siva-export marker\\); choose an empty or new folder$`)

beforeAll(async () => {
  tinyBertWithTokenizer(base)
  await train(config(base, sentimentCsv(join(root, 'sentiment.csv'), 32)), runDir)
}, 120_000)

describe('export --force replaces only what an earlier export wrote', () => {
  it('never the run’s base model, even one that an earlier export wrote (ΔW would be applied twice)', async () => {
    // A second run trained on the first run's merged export: that folder carries the export marker.
    const firstMerged = join(root, 'first-merged')
    await exportAll({ outputs: { merged: firstMerged } })
    const secondRun = join(runs, 'second')
    await train(config(firstMerged, join(root, 'sentiment.csv')), secondRun)
    const before = snapshot(firstMerged)
    await expect(exportAll({ runDir: secondRun, outputs: { merged: firstMerged }, force: true })).rejects.toThrow(`${firstMerged}: is the run's base model; an export never replaces it; choose another folder`)
    await expect(exportAll({ outputs: { adapter: join(root, 'models') }, force: true })).rejects.toThrow(`${join(root, 'models')}: holds the run's base model (${base}); an export never replaces it; choose another folder`)
    expect(snapshot(firstMerged)).toEqual(before)
  }, 120_000)

  it('never the run, the runs folder, an ancestor of them, home or the root', async () => {
    const before = snapshot(runDir)
    await expect(exportAll({ outputs: { report: runDir }, force: true })).rejects.toThrow(`${runDir}: is the run folder; an export never replaces it; choose another folder`)
    await expect(exportAll({ outputs: { report: runs }, force: true })).rejects.toThrow(`${runs}: holds the run folder (${runDir}); an export never replaces it; choose another folder`)
    await expect(exportAll({ outputs: { report: root }, force: true })).rejects.toThrow(`${root}: holds the run folder (${runDir})`)
    await expect(exportAll({ outputs: { report: '/' }, force: true })).rejects.toThrow(/^\/: is the file system root; an export never replaces it/)
    const home = join(root, 'home')
    mkdirSync(home)
    // Even a home folder that happens to carry the marker.
    writeFileSync(join(home, '.siva-export'), '{}\n')
    writeFileSync(join(home, 'thesis.tex'), 'years of work')
    const previousHome = process.env['HOME']
    process.env['HOME'] = home
    try {
      expect(homedir()).toBe(home)
      await expect(exportAll({ outputs: { report: home }, force: true })).rejects.toThrow(`${home}: is your home folder; an export never replaces it; choose another folder`)
    } finally {
      process.env['HOME'] = previousHome
    }
    expect(readFileSync(join(home, 'thesis.tex'), 'utf8')).toBe('years of work')
    expect(snapshot(runDir)).toEqual(before)
  }, 60_000)

  it('compares real paths: a symbolic link to the run’s parent does not get past the guard', async () => {
    const before = snapshot(runDir)
    const alias = join(root, 'alias')
    symlinkSync(root, alias)
    await expect(exportAll({ outputs: { report: join(alias, 'runs') }, force: true })).rejects.toThrow(`${join(alias, 'runs')}: holds the run folder (${runDir}); an export never replaces it`)
    await expect(exportAll({ outputs: { report: join(alias, 'runs', 'run') }, force: true })).rejects.toThrow(`${join(alias, 'runs', 'run')}: is the run folder`)
    // The output folder given as a link, even to an earlier export, is refused: replacing it would replace the link.
    const target = join(root, 'linked-export')
    await exportAll({ outputs: { report: target } })
    const link = join(root, 'link-to-export')
    symlinkSync(target, link)
    await expect(exportAll({ outputs: { report: link }, force: true })).rejects.toThrow(`${link}: is a symbolic link; give the folder it points to, or a new folder`)
    expect(snapshot(runDir)).toEqual(before)
  }, 60_000)

  it('a folder without the marker is refused even with --force; an empty one is used; a marked one is replaced only with --force', async () => {
    const notes = join(exports, 'notes')
    mkdirSync(notes, { recursive: true })
    writeFileSync(join(notes, 'todo.txt'), 'mine')
    await expect(exportAll({ outputs: { report: notes } })).rejects.toThrow(markerMessage(notes))
    await expect(exportAll({ outputs: { report: notes }, force: true })).rejects.toThrow(markerMessage(notes))
    expect(readdirSync(notes)).toEqual(['todo.txt'])

    const empty = join(exports, 'empty')
    mkdirSync(empty)
    await exportAll({ outputs: { report: empty } })
    expect(readdirSync(empty).sort()).toEqual(['.siva-export', 'report.html', 'report.json'])

    await expect(exportAll({ outputs: { report: empty } })).rejects.toThrow(`${empty}: already exists; choose a new folder or pass --force to replace it`)
    writeFileSync(join(empty, 'stale.txt'), 'from before')
    await exportAll({ outputs: { report: empty }, force: true })
    expect(readdirSync(empty).sort()).toEqual(['.siva-export', 'report.html', 'report.json'])
  }, 60_000)

  it('every kind of output carries the marker, which says what wrote it; the listed files do not include it', async () => {
    const out = { merged: join(exports, 'm'), adapter: join(exports, 'a'), 'peft-lora': join(exports, 'p'), report: join(exports, 'r') }
    const result = await exportAll({ outputs: out })
    for (const output of result.outputs) {
      expect(JSON.parse(readFileSync(join(output.dir, '.siva-export'), 'utf8'))).toEqual({ writtenBy: 'siva export', kind: output.kind })
      expect(output.files).not.toContain('.siva-export')
    }
    const applied = join(exports, 'applied')
    const { files } = await applyAdapter(out.adapter, base, applied, { decompose })
    expect(JSON.parse(readFileSync(join(applied, '.siva-export'), 'utf8'))).toEqual({ writtenBy: 'siva export', kind: 'merged' })
    expect(files).not.toContain('.siva-export')
    // --apply never replaces its own base or adapter, even forced.
    await expect(applyAdapter(out.adapter, base, base, { decompose, force: true })).rejects.toThrow(`${base}: is the base model; an export never replaces it`)
    await expect(applyAdapter(out.adapter, base, out.adapter, { decompose, force: true })).rejects.toThrow(`${out.adapter}: is the adapter; an export never replaces it`)
  }, 120_000)

  it('outputs of one export may not lie inside one another', async () => {
    const outer = join(exports, 'outer')
    await expect(exportAll({ outputs: { merged: outer, report: join(outer, 'report') } })).rejects.toThrow(`${join(outer, 'report')}: lies inside ${outer}, the merged output; each export needs its own folder`)
    expect(existsSync(outer)).toBe(false)
  })
})

describe('leftovers of interrupted exports', () => {
  it('are removed by the next export when their process is gone, even when that export is refused; a live one’s or another machine’s never', async () => {
    const folder = join(root, 'leftovers')
    await exportAll({ outputs: { merged: join(folder, 'merged') } })
    const dead = deadPid()
    const live = spawn('sleep', ['60'])
    try {
      const host = createHash('sha256').update(hostname()).digest('hex').slice(0, 8)
      const otherHost = host === 'deadbeef' ? 'feedface' : 'deadbeef'
      const deadStaging = `.adapter.siva-export-${dead}-${host}-0badc0de.tmp`
      // Named before the machine was recorded in it: taken as this machine's.
      const deadOldStyle = `.adapter.siva-export-${dead}-0badc0de.tmp`
      const deadAside = `.peft.siva-replaced-${dead}-${host}-0badc0de.tmp`
      const liveStaging = `.report.siva-export-${live.pid}-${host}-0badc0de.tmp`
      // Another machine's export on a shared disk: its process ids mean nothing here.
      const otherMachine = `.report.siva-export-${dead}-${otherHost}-0badc0de.tmp`
      for (const name of [deadStaging, deadOldStyle, deadAside, liveStaging, otherMachine]) {
        mkdirSync(join(folder, name))
        writeFileSync(join(folder, name, 'part'), name)
      }
      // Rerun of a two-output export without --force: refused (merged exists), and it cleans up all the same.
      await expect(exportAll({ outputs: { merged: join(folder, 'merged'), adapter: join(folder, 'adapter') } })).rejects.toThrow(`${join(folder, 'merged')}: already exists`)
      // The folder a killed --force export had moved aside, with nothing put in its place, is put back.
      expect(readdirSync(folder).sort()).toEqual([liveStaging, otherMachine, 'merged', 'peft'].sort())
      expect(readFileSync(join(folder, 'peft', 'part'), 'utf8')).toBe(deadAside)
    } finally {
      live.kill()
    }
  }, 60_000)
})

describe('a failing disk or folder: a message naming the output folder, nothing half-written', () => {
  it('a folder filled by someone else while the export ran (ENOTEMPTY) is left as they left it', async () => {
    const out = join(root, 'raced', 'merged')
    let intruded = false
    const intrude = (): void => {
      if (intruded) return
      intruded = true
      mkdirSync(out, { recursive: true })
      writeFileSync(join(out, 'theirs.txt'), 'not yours')
    }
    await expect(exportAll({ outputs: { merged: out } }, intrude)).rejects.toThrow(`${out}: something else wrote into this folder while the export ran (ENOTEMPTY); nothing in it was replaced; export again to a new folder`)
    expect(readdirSync(join(root, 'raced'))).toEqual(['merged'])
    expect(readdirSync(out)).toEqual(['theirs.txt'])
    // With --force too: what appeared there is no earlier export.
    intruded = false
    rmSync(out, { recursive: true })
    await expect(exportAll({ outputs: { merged: out }, force: true }, intrude)).rejects.toThrow(markerMessage(out))
    expect(readdirSync(join(root, 'raced'))).toEqual(['merged'])
    expect(readdirSync(out)).toEqual(['theirs.txt'])
  }, 60_000)

  describe('on a small file system of its own (tmpfs; mounting needs root)', () => {
    const disk = join(root, 'disk')
    const out = join(disk, 'merged')
    let mounted = ''
    beforeAll(async () => {
      mkdirSync(disk)
      const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256m,nr_inodes=64', 'tmpfs', disk], { encoding: 'utf8' })
      if (mount.status !== 0) return void (mounted = `cannot mount a tmpfs here (${(mount.stderr || mount.error?.message || 'not permitted').trim()})`)
      await exportAll({ outputs: { merged: out } })
    }, 60_000)
    afterAll(() => void (mounted === '' && spawnSync('umount', [disk])))

    it('ENOSPC: the disk fills up midway (no inodes left); the previous export stays whole', async (context) => {
      if (mounted !== '') return context.skip(mounted)
      const before = snapshot(out)
      // Room in bytes (the free-space check passes) but for only two more files or folders.
      const { files, ffree } = statfsSync(disk)
      expect(spawnSync('mount', ['-o', `remount,nr_inodes=${files - ffree + 2}`, disk]).status).toBe(0)
      try {
        await expect(exportAll({ outputs: { merged: out }, force: true })).rejects.toThrow(`${out}: the export could not be written: the disk is full (ENOSPC); free some space or choose a folder on another disk. Nothing was left half-written, and the folder that was there is unchanged`)
      } finally {
        spawnSync('mount', ['-o', 'remount,nr_inodes=64', disk])
      }
      expect(readdirSync(disk)).toEqual(['merged'])
      expect(snapshot(out)).toEqual(before)
    }, 60_000)

    it('EROFS: a read-only disk', async (context) => {
      if (mounted !== '') return context.skip(mounted)
      const before = snapshot(out)
      expect(spawnSync('mount', ['-o', 'remount,ro', disk]).status).toBe(0)
      try {
        await expect(exportAll({ outputs: { merged: out }, force: true })).rejects.toThrow(`${out}: the export could not be written: the file system is read-only (EROFS); choose a folder on a writable disk`)
      } finally {
        spawnSync('mount', ['-o', 'remount,rw', disk])
      }
      expect(readdirSync(disk)).toEqual(['merged'])
      expect(snapshot(out)).toEqual(before)
    }, 60_000)
  })

  it('EACCES: a folder this user may not write to (root runs the command as nobody)', () => {
    // Outside the 0700 test folders, so that another user can reach it.
    const shared = mkdtempSync(join(tmpdir(), 'siva-export-guard-'))
    try {
      chmodSync(shared, 0o755)
      const locked = join(shared, 'locked')
      mkdirSync(locked)
      const out = join(locked, 'report')
      const scratch = join(shared, 'scratch')
      mkdirSync(scratch)
      chmodSync(scratch, 0o777)
      let user: { uid?: number; gid?: number } = {}
      let run = runDir
      if (process.getuid?.() === 0) {
        user = { uid: 65534, gid: 65534 }
        run = join(shared, 'run')
        cpSync(runDir, run, { recursive: true })
        spawnSync('chmod', ['-R', 'a+rX', shared, base])
        for (let dir = root; dir.startsWith(join(repoRoot, 'tests', '.tmp')); dir = dirname(dir)) chmodSync(dir, 0o755)
      } else chmodSync(locked, 0o555)
      const result = spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'export', run, '--checkpoint', 'last', '--report', out, '--svd-cache', join(scratch, 'svd'), '--quiet'], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, HOME: scratch, TMPDIR: scratch }, ...user, timeout: 120_000 })
      expect(result.stderr).toContain(`${out}: the export could not be written: permission denied (EACCES); choose a folder you can write to`)
      expect(result.status).toBe(1)
      expect(readdirSync(locked)).toEqual([])
    } finally {
      rmSync(shared, { recursive: true, force: true })
    }
  }, 120_000)
})
