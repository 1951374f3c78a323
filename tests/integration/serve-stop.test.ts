import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { CallName, CallResults, Params, ServerMessage } from '../../src/shared/api'
import { MessageClient } from '../../src/shared/client'
import { tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'
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
    const renderer = join(root, 'renderer')
    mkdirSync(renderer)
    writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>SiVA Studio</title>')
    const server = await startServe(root, renderer)
    try {
      const ws = new WebSocket(`ws://${server.url.host}/api?token=${server.token}`)
      const api = new MessageClient((message) => ws.send(JSON.stringify(message)))
      ws.on('message', (raw) => api.receive(JSON.parse(raw.toString()) as ServerMessage))
      await new Promise((resolve, reject) => {
        ws.once('open', resolve)
        ws.once('error', reject)
      })
      const call = <M extends CallName>(method: M, params: Params<M>): Promise<CallResults[M]> => api.call(method, params)
      // No periodic checkpoint within reach: only the stop can write one.
      const run = await call('startRun', { config: { model, data, task: 'classify', epochs: 200, batchSize: 8, checkpointEvery: 100000, backend: 'wasm' } })
      await new Promise<void>((resolve, reject) => {
        const close = api.stream('runEvents', { runId: run.id }, (event) => {
          if (event.type === 'event' && event.event.type === 'step') {
            close()
            resolve()
          }
        }, (error) => (error ? reject(new Error(error)) : undefined))
      })
      ws.close()
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
