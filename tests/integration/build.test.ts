import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { withoutDriverNoise } from '../helpers/driverNoise'
import { repoRoot, tempDir, tinyGpt2 } from '../helpers/paths'

// The electron-vite build of all three runtimes, and the bundled `siva` (no tsx, workers as .js files)
// on a real checkpoint: what an installed package runs.
describe('electron-vite build', () => {
  let out: string

  beforeAll(() => {
    out = tempDir('build')
    execFileSync(process.execPath, [join(repoRoot, 'node_modules/electron-vite/bin/electron-vite.js'), 'build', '--outDir', out], {
      cwd: repoRoot,
      stdio: 'pipe'
    })
  }, 180_000)

  it('emits main, the CLI and worker entries, a CommonJS preload and the renderer with its CSP', () => {
    for (const file of ['main/index.js', 'main/cli.js', 'main/analysisWorker.js', 'main/trainingWorker.js', 'main/gemmWorker.js', 'main/encodeWorker.js', 'preload/index.cjs', 'renderer/index.html']) {
      expect(existsSync(join(out, file)), file).toBe(true)
    }
    const html = readFileSync(join(out, 'renderer/index.html'), 'utf8')
    expect(html).toContain("script-src 'self'")
    const preload = readFileSync(join(out, 'preload/index.cjs'), 'utf8')
    expect(preload).toContain('exposeInMainWorld')
    // The path of a dropped file is read in the sandboxed preload, from electron's own webUtils (not bundled).
    expect(preload).toMatch(/require\("electron"\)/)
    expect(preload).toContain('webUtils.getPathForFile')
  })

  it("emits the GPU window's page and worker as a browser build (no Node module left in it) and its port-only preload", () => {
    for (const file of ['gpuHost/index.html', 'gpuHost/page.js', 'gpuHost/worker.js', 'preload/gpuHost.cjs']) expect(existsSync(join(out, file)), file).toBe(true)
    for (const file of readdirSync(join(out, 'gpuHost')).filter((name) => name.endsWith('.js'))) {
      expect(readFileSync(join(out, 'gpuHost', file), 'utf8'), file).not.toMatch(/from ["']node:|require\(["']node:/)
    }
    const preload = readFileSync(join(out, 'preload/gpuHost.cjs'), 'utf8')
    expect(preload).toContain('siva-gpu-host-port')
    expect(preload).not.toContain('exposeInMainWorld')
  })

  it('the bundled siva inspect runs its SVD workers from the bundle', () => {
    const script = join(out, 'run-cli.mjs')
    writeFileSync(
      script,
      `const { main } = await import(${JSON.stringify(pathToFileURL(join(out, 'main/cli.js')).href)})\nprocess.exitCode = await main(process.argv.slice(2))\n`
    )
    const run = spawnSync(process.execPath, [script, 'inspect', tinyGpt2, '--json', '--quiet', '--layers', 'h\\.0\\.'], { encoding: 'utf8', timeout: 60_000 })
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const report = JSON.parse(run.stdout) as { tensors: { name: string; singularValues: number[] }[] }
    expect(report.tensors.map((t) => t.name)).toHaveLength(6)
    expect(report.tensors.every((t) => t.singularValues.length === 32)).toBe(true)
  })

  it('the bundled siva train runs its training worker (and its SVD pool) from the bundle', () => {
    const script = join(out, 'run-cli.mjs')
    const runDir = join(tempDir('build-train'), 'run')
    const run = spawnSync(
      process.execPath,
      [script, 'train', '--model', join(repoRoot, 'tests/fixtures/models/tiny-bert'), '--data', join(repoRoot, 'tests/fixtures/samples/spam.csv'), '--task', 'classify', '--out', runDir, '--max-steps', '2', '--quiet', '--svd-cache', join(runDir, '..', 'svd')],
      { encoding: 'utf8', timeout: 120_000 }
    )
    expect(withoutDriverNoise(run.stderr)).toBe('')
    expect(run.status).toBe(0)
    expect(run.stdout).toContain(`run: ${runDir}`)
    const events = readFileSync(join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { type: string })
    expect(events.at(-1)!.type).toBe('finished')
  }, 120_000)
})

