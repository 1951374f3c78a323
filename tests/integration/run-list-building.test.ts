import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultTrainConfig } from '../../src/main/engine/training/loop'
import { RunSupervisor } from '../../src/main/services/runSupervisor'
import { tempDir } from '../helpers/paths'

// A run folder is built in a hidden sibling and renamed into place (createRunFolder): one being built, or
// left by a creation that was killed, holds a run.json but is not a run.
describe('the runs list', () => {
  it('leaves out run folders still being built', async () => {
    const runsDir = tempDir('runs-building')
    const building = join(runsDir, '.20261201-101010-demo.siva-run-2147483646-0a1b2c3d.tmp')
    mkdirSync(join(building, 'checkpoints'), { recursive: true })
    const config = defaultTrainConfig({ model: '/models/tiny-bert', data: '/data/sentiment.csv', task: 'classify' })
    writeFileSync(join(building, 'run.json'), JSON.stringify({ config, created: '2026-12-01T10:10:10.000Z', versions: {} }))
    const supervisor = new RunSupervisor({ runsDir, svdCacheDir: join(runsDir, 'svd') })
    expect(await supervisor.list()).toEqual([])
  })
})
