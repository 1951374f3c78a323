import { mkdirSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import type { ExportContext } from '../../../src/main/services/exports'
import { tempDir } from '../../helpers/paths'

// revealPath shows a folder an export of this back end wrote, wherever the user put it, and nothing beside
// it. The export itself is stood in for: what is tested is what the service remembers of it.
vi.mock('../../../src/main/engine/export', async (original) => ({
  ...(await original<typeof import('../../../src/main/engine/export')>()),
  exportRun: vi.fn(async (request: { outputs: Record<string, string> }, host: { onProgress?: (p: unknown) => void }) => {
    host.onProgress?.({ kind: 'merged', done: 2, total: 4, detail: 'bert.encoder.layer.0.attention.self.query.weight' })
    progressSeen = (await import('../../../src/main/services/exports')).exportProgressOf(context, { runId: 'run-1' })
    return { checkpoint: { name: 'step-00000008', step: 8 }, outputs: Object.entries(request.outputs).map(([kind, dir]) => ({ kind, dir, bytes: 10, files: ['a'] })) }
  })
}))

let progressSeen: unknown
let context: ExportContext

describe('what the back end remembers of an export', () => {
  it('reports the running export’s stage, and afterwards shows its folders, only those', async () => {
    const { exportRunOutputs, exportProgressOf, revealExportedPath } = await import('../../../src/main/services/exports')
    const root = tempDir('export-reveal')
    const runsDir = join(root, 'runs')
    const out = join(root, 'somewhere', 'merged')
    const beside = join(root, 'somewhere', 'other')
    for (const dir of [runsDir, out, beside, join(out, 'sub')]) mkdirSync(dir, { recursive: true })
    context = { runsDir, svdCacheDir: join(root, 'svd'), pool: { runSvd: vi.fn() } as unknown as ExportContext['pool'], supervisor: { isTraining: () => false } as unknown as ExportContext['supervisor'] }
    const shown: string[] = []
    const reveal = { runsDir, supervisor: context.supervisor, reveal: (path: string) => void shown.push(path) }

    await expect(revealExportedPath(reveal, { path: out })).rejects.toThrow(/neither an export's folder nor in the runs folder/)
    await exportRunOutputs(context, { runId: 'run-1', outputs: { merged: out } })
    expect(progressSeen).toMatchObject({ stage: 'merged', done: 2, total: 4, output: 1, outputs: 1 })
    expect(exportProgressOf(context, { runId: 'run-1' })).toEqual({})

    expect(await revealExportedPath(reveal, { path: out })).toEqual({ revealed: realpathSync(out) })
    expect(await revealExportedPath(reveal, { path: join(out, 'sub') })).toEqual({ revealed: realpathSync(join(out, 'sub')) })
    await expect(revealExportedPath(reveal, { path: beside })).rejects.toThrow(/revealPath/)
    await expect(revealExportedPath(reveal, { path: join(root, 'somewhere') })).rejects.toThrow(/revealPath/)
    // Another back end (another supervisor) did not write it.
    await expect(revealExportedPath({ ...reveal, supervisor: {} as ExportContext['supervisor'] }, { path: out })).rejects.toThrow(/revealPath/)
    expect(shown).toEqual([realpathSync(out), realpathSync(join(out, 'sub'))])
  })
})
