// What the GPU training window may touch: the run folder (and its temp siblings) to write, the model
// and data to read, nothing else — checked on real files and real symbolic links, and through the
// bridge itself over a real MessageChannel, as a hostile page would ask.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { MessageChannel } from 'node:worker_threads'
import { beforeAll, describe, expect, it } from 'vitest'
import { RunAccess } from '../../src/main/workers/gpuHostAccess'
import { GpuHostBridge } from '../../src/main/workers/gpuHostBridge'
import type { FromGpuHost, ToGpuHost } from '../../src/main/gpuHost/protocol'
import { defaultTrainConfig } from '../../src/main/engine/training/loop'
import { tempDir } from '../helpers/paths'

let root: string
let access: RunAccess
const paths = { run: '', model: '', data: '', secret: '', outsideDir: '' }

beforeAll(() => {
  root = tempDir('gpu-host-access')
  paths.run = join(root, 'runs', 'run-1')
  paths.model = join(root, 'model')
  paths.data = join(root, 'data', 'train.csv')
  paths.secret = join(root, 'secret.txt')
  paths.outsideDir = join(root, 'elsewhere')
  mkdirSync(paths.run, { recursive: true })
  mkdirSync(paths.model, { recursive: true })
  mkdirSync(join(root, 'data'), { recursive: true })
  mkdirSync(paths.outsideDir, { recursive: true })
  writeFileSync(join(paths.model, 'config.json'), '{}')
  writeFileSync(paths.data, 'text,label\n')
  writeFileSync(join(root, 'data', 'other.csv'), 'private\n')
  writeFileSync(paths.secret, 'secret\n')
  symlinkSync(paths.secret, join(paths.run, 'leak.txt'))
  symlinkSync(paths.outsideDir, join(paths.run, 'out'))
  symlinkSync(join(root, 'missing-target'), join(paths.run, 'dangling'))
  writeFileSync(join(root, 'runs', 'run-10'), 'a neighbour run')
  access = new RunAccess({ runDir: paths.run, model: paths.model, dataFiles: [paths.data] })
})

describe('RunAccess', () => {
  it('lets the run write its own folder and the temp siblings it is built in', async () => {
    await expect(access.writable(join(paths.run, 'checkpoints', 'step-1', 'state.json'))).resolves.toContain('state.json')
    await expect(access.writable(join(root, 'runs', '.run-1.siva-run-123-ab.tmp', 'run.json'))).resolves.toContain('.run-1.siva-run-123-ab.tmp')
  })

  it('refuses writes anywhere else, with the path in the message', async () => {
    await expect(access.writable(join(root, 'runs', 'run-10'))).rejects.toThrow(/run-10: the GPU training window may not write outside the run folder/)
    await expect(access.writable(join(root, 'runs', '.run-10.x.tmp'))).rejects.toThrow(/may not write/)
    await expect(access.writable(join(paths.run, '..', 'escape.txt'))).rejects.toThrow(/may not write/)
    await expect(access.writable(join(paths.model, 'config.json'))).rejects.toThrow(/may not write/)
    await expect(access.writable(paths.data)).rejects.toThrow(/may not write/)
    await expect(access.writable('relative/run.json')).rejects.toThrow(/relative path/)
  })

  it('follows links before it decides: a link in the run folder to a file or folder outside leads nowhere', async () => {
    await expect(access.readable(join(paths.run, 'leak.txt'))).rejects.toThrow(/leak\.txt: the GPU training window may not read/)
    await expect(access.writable(join(paths.run, 'leak.txt'))).rejects.toThrow(/may not write/)
    await expect(access.writable(join(paths.run, 'out', 'new.txt'))).rejects.toThrow(/may not write/)
    await expect(access.writable(join(paths.run, 'dangling'))).rejects.toThrow(/dangling link/)
  })

  it('reads the model folder and the data files, and nothing beside them', async () => {
    await expect(access.readable(join(paths.model, 'config.json'))).resolves.toContain('config.json')
    await expect(access.readable(paths.data)).resolves.toContain('train.csv')
    await expect(access.readable(join(root, 'data', 'other.csv'))).rejects.toThrow(/other\.csv: .* may not read/)
    await expect(access.readable(paths.secret)).rejects.toThrow(/may not read/)
    await expect(access.readable('/etc/passwd')).rejects.toThrow(/may not read/)
  })

  it('reads a Hub snapshot whose files link into the repository blobs', async () => {
    const repo = join(root, 'hub', 'models--org--tiny')
    mkdirSync(join(repo, 'blobs'), { recursive: true })
    mkdirSync(join(repo, 'snapshots', 'abc'), { recursive: true })
    writeFileSync(join(repo, 'blobs', 'f00'), '{}')
    symlinkSync('../../blobs/f00', join(repo, 'snapshots', 'abc', 'config.json'))
    const hub = new RunAccess({ runDir: paths.run, model: join(repo, 'snapshots', 'abc'), dataFiles: [paths.data] })
    await expect(hub.readable(join(repo, 'snapshots', 'abc', 'config.json'))).resolves.toBe(join(repo, 'blobs', 'f00'))
    await expect(hub.readable(join(root, 'hub', 'models--org--other', 'x'))).rejects.toThrow(/may not read/)
  })
})

describe('GpuHostBridge, asked by a page that breaks the rules', () => {
  it('answers file requests outside the run with an error, and lists only the run in its parent folder', async () => {
    const { port1: host, port2: page } = new MessageChannel()
    const config = defaultTrainConfig({ model: paths.model, data: paths.data, task: 'classify', method: 'siva', backend: 'webgpu' })
    const bridge = new GpuHostBridge({
      transport: { postMessage: (message, transfer) => host.postMessage(message, transfer ?? []), onMessage: (listener) => host.on('message', listener) },
      start: { type: 'start', runDir: paths.run, config },
      onReport: () => undefined
    })
    const replies = new Map<number, Extract<ToGpuHost, { kind: 'reply' }>>()
    const inits: ToGpuHost[] = []
    const waiters = new Map<number, () => void>()
    page.on('message', (message: ToGpuHost) => {
      if (message.kind === 'reply') {
        replies.set(message.id, message)
        waiters.get(message.id)?.()
      } else inits.push(message)
    })
    let id = 0
    const ask = (op: Extract<FromGpuHost, { kind: 'fs' }>['op'], ...args: unknown[]): Promise<Extract<ToGpuHost, { kind: 'reply' }>> => {
      const mine = ++id
      return new Promise((resolve) => {
        waiters.set(mine, () => resolve(replies.get(mine)!))
        page.postMessage({ kind: 'fs', id: mine, op, args } satisfies FromGpuHost)
      })
    }
    page.postMessage({ kind: 'ready' } satisfies FromGpuHost)
    await new Promise<void>((resolve) => {
      const check = (): void => (inits.length >= 2 ? resolve() : void setTimeout(check, 10))
      check()
    })
    // The start goes on with the host's facts; the listing names the run folder's own files only.
    expect(inits[0]).toMatchObject({ kind: 'init', facts: { pid: process.pid } })
    expect(inits[1]).toMatchObject({ kind: 'command', command: { type: 'start', runDir: paths.run } })

    const secret = await ask('readFile', paths.secret)
    expect(secret).toMatchObject({ ok: false, error: { code: 'EACCES' } })
    expect(await ask('readFile', '/etc/passwd')).toMatchObject({ ok: false, error: { code: 'EACCES' } })
    expect(await ask('open', join(paths.run, 'leak.txt'), 'r')).toMatchObject({ ok: false, error: { code: 'EACCES' } })
    expect(await ask('writeFile', join(paths.model, 'config.json'), new ArrayBuffer(1))).toMatchObject({ ok: false, error: { code: 'EACCES' } })
    expect(await ask('rm', paths.model, { recursive: true, force: true })).toMatchObject({ ok: false, error: { code: 'EACCES' } })
    expect(await ask('rename', paths.secret, join(paths.run, 'stolen.txt'))).toMatchObject({ ok: false, error: { code: 'EACCES' } })
    expect(await ask('readdir', root)).toMatchObject({ ok: false, error: { code: 'EACCES' } })
    // The model folder is intact, and so is the secret.
    expect(readFileSync(join(paths.model, 'config.json'), 'utf8')).toBe('{}')
    expect(readFileSync(paths.secret, 'utf8')).toBe('secret\n')

    const listing = await ask('readdir', join(root, 'runs'))
    expect(listing.ok && (listing.value as { name: string }[]).map((entry) => entry.name)).toEqual(['run-1'])
    const data = await ask('readFile', paths.data)
    expect(data.ok && new TextDecoder().decode(data.value as ArrayBuffer)).toBe('text,label\n')
    const written = await ask('writeFile', join(paths.run, 'note.txt'), new TextEncoder().encode('hi').buffer)
    expect(written.ok).toBe(true)
    expect(readFileSync(join(paths.run, 'note.txt'), 'utf8')).toBe('hi')
    await bridge.close()
    host.close()
  })
})
