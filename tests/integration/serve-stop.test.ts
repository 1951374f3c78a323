import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'
import { connectApi, rendererStub } from './serveApi'
import { startServe } from './serveProcess'

/**
 * Ctrl-C (SIGINT) or SIGTERM to `siva serve` while a run trains: the run stops at a step boundary with a
 * checkpoint and reads as cancelled (so Resume continues it), as the desktop app does on quit. Before,
 * the server terminated the worker and the run lost everything since its last periodic checkpoint.
 */
describe('siva serve stopped while a run trains', () => {
  it('stops the run with a checkpoint before it exits', async () => {
    const root = tempDir('serve-stop')
    const model = tinyBertWithTokenizer(join(root, 'tiny-bert'))
    const data = sentimentCsv(join(root, 'sentiment.csv'), 48)
    const server = await startServe(root, rendererStub(root))
    try {
      const api = await connectApi(server)
      // No periodic checkpoint within reach: only the stop can write one.
      const run = await api.call('startRun', { config: { model, data, task: 'classify', epochs: 200, batchSize: 8, checkpointEvery: 100000, backend: 'wasm' } })
      await api.collect('runEvents', { runId: run.id }, (event) => event.type === 'event' && event.event.type === 'step')
      api.close()
      const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)))
      server.child.kill('SIGINT')
      expect(await exited).toBe(0)

      const events = readFileSync(join(run.dir, 'events.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { type: string; step?: number })
      const types = events.map((e) => e.type)
      expect(types).toContain('checkpoint')
      expect(types.at(-1)).toBe('cancelled')
      expect(existsSync(join(run.dir, 'checkpoints', 'latest.json'))).toBe(true)
      const latest = JSON.parse(readFileSync(join(run.dir, 'checkpoints', 'latest.json'), 'utf8')) as { step: number }
      const lastStep = events.filter((e) => e.type === 'step').at(-1)?.step
      expect(latest.step).toBe(lastStep)
    } finally {
      if (server.alive()) server.child.kill('SIGKILL')
    }
  }, 120_000)
})
