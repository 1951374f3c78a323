import { mkdirSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { exportRun, runExportFacts, runExportOptions } from '../../../src/main/engine/export'
import { exportCommand } from '../../../src/main/commands/export'
import { SivaBackend } from '../../../src/main/services/backend'
import { cliWording, exportAvailability, ExportRefusal, uiWording } from '../../../src/shared/exportOptions'
import type { MethodName } from '../../../src/shared/methods'
import type { TrainTask } from '../../../src/shared/training'
import { repoRoot, tempDir } from '../../helpers/paths'
import { useModelDir } from '../../helpers/useGraph'

// Which outputs a run exports to is one function (src/shared/exportOptions.ts), read by the engine's
// refusal, the back end's exportOptions call and, through it, the Export step (issue 17, item 3). The
// runs here have a run.json and no checkpoint: every refusal tested happens before a checkpoint is read.

const tinyBert = join(repoRoot, 'tests', 'fixtures', 'models', 'tiny-bert')
const tinyVit = join(repoRoot, 'tests', 'fixtures', 'models', 'tiny-vit')
const noDecompose = (): never => {
  throw new Error('no SVD is needed before a refusal')
}

let root: string
let runsDir: string
const backends: SivaBackend[] = []

beforeAll(() => {
  root = tempDir('export-options')
  runsDir = join(root, 'runs')
  mkdirSync(runsDir, { recursive: true })
})

afterAll(async () => {
  for (const b of backends) await b.close()
})

/** A run folder holding only its run.json, as training writes it first. */
function runFolder(id: string, model: string, method: MethodName, task: TrainTask = 'classify'): string {
  const dir = join(runsDir, id)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ config: { model, data: join(root, 'train.csv'), task, method }, created: '2026-01-01T00:00:00Z', versions: {} }))
  return dir
}

function backend(options: { reveal?: (path: string) => void } = {}): SivaBackend {
  const b = new SivaBackend({ runsDir, svdCacheDir: join(root, 'svd'), ...(options.reveal && { revealPath: options.reveal }) })
  backends.push(b)
  return b
}

describe('which outputs a run can be exported to', () => {
  it('offers every output for SiVA on a transformers model, and names the class it loads as', async () => {
    const facts = await runExportFacts(runFolder('bert-siva', tinyBert, 'siva'))
    expect(facts.model).toEqual({ format: 'safetensors', modelType: 'bert', transformers: true, transformersClass: 'BertForSequenceClassification' })
    const outputs = exportAvailability(facts, uiWording)
    expect(Object.values(outputs).every((o) => o.available)).toBe(true)
  })

  it('offers no PEFT LoRA for the sentence encoder (a TensorFlow.js model), with the reason in each caller’s words', async () => {
    const facts = await runExportFacts(runFolder('use-siva', useModelDir, 'siva'))
    expect(facts.model.format).toBe('tfjs')
    expect(facts.model.transformers).toBe(false)
    const ui = exportAvailability(facts, uiWording)
    expect(ui.merged.available && ui.adapter.available && ui.report.available).toBe(true)
    expect(ui['peft-lora']).toEqual({ available: false, reason: 'PEFT loads Hugging Face transformers models, and use-lite is not one (it is a TensorFlow.js graph model): choose Merged checkpoint or SiVA adapter instead' })
    expect(exportAvailability(facts, cliWording)['peft-lora'].reason).toBe('PEFT loads Hugging Face transformers models, and use-lite is not one (it is a TensorFlow.js graph model): export --merged or --adapter instead')
  })

  it('follows the method: no LoRA from a probe, no adapter from full fine-tuning, LoRA from LoRA on ViT', async () => {
    const head = exportAvailability(await runExportFacts(runFolder('bert-head', tinyBert, 'head')), uiWording)
    expect(head.adapter.available).toBe(true)
    expect(head['peft-lora']).toEqual({ available: false, reason: 'a head-only run has no low-rank update to write as LoRA: choose Merged checkpoint or SiVA adapter instead' })
    const full = exportAvailability(await runExportFacts(runFolder('bert-full', tinyBert, 'full')), uiWording)
    expect(full.merged.available).toBe(true)
    expect(full.adapter.reason).toBe('full fine-tuning changes every weight, so there is no adapter to write: choose Merged checkpoint instead')
    expect(full['peft-lora'].reason).toBe('a full fine-tuning run has no low-rank update to write as LoRA: choose Merged checkpoint instead')
    const vitFacts = await runExportFacts(runFolder('vit-lora', tinyVit, 'lora', 'image-classify'))
    expect(vitFacts.model.transformersClass).toBe('ViTForImageClassification')
    expect(exportAvailability(vitFacts, uiWording)['peft-lora'].available).toBe(true)
  })

  it('lists the run’s checkpoints, the best and the last, and its labels', async () => {
    const dir = runFolder('bert-steps', tinyBert, 'siva')
    for (const step of [10, 20, 30]) {
      mkdirSync(join(dir, 'checkpoints', `step-${String(step).padStart(8, '0')}`), { recursive: true })
    }
    const names = readdirSync(join(dir, 'checkpoints')).sort()
    writeFileSync(join(dir, 'checkpoints', 'best.json'), JSON.stringify({ name: names[1], step: 20 }))
    writeFileSync(join(dir, 'checkpoints', 'latest.json'), JSON.stringify({ name: names[2], step: 30 }))
    mkdirSync(join(dir, 'data'), { recursive: true })
    writeFileSync(join(dir, 'data', 'labels.json'), JSON.stringify({ id2label: { 0: 'ham', 1: 'spam' }, label2id: { ham: 0, spam: 1 } }))
    const options = await runExportOptions(dir, 'bert-steps', uiWording)
    expect(options.checkpoints.map((c) => c.step)).toEqual([10, 20, 30])
    expect(options.best?.step).toBe(20)
    expect(options.last?.step).toBe(30)
    expect(options.labels).toEqual(['ham', 'spam'])
    expect(options.baseModel).toBe(tinyBert)
  })
})

describe('refusing an output the run cannot take', () => {
  it('the engine refuses PEFT LoRA for the sentence encoder before reading any checkpoint, worded as flags', async () => {
    const dir = runFolder('use-refused', useModelDir, 'siva')
    const refusal = await exportRun({ runDir: dir, outputs: { 'peft-lora': join(root, 'out', 'peft') } }, { decompose: noDecompose }).catch((e: unknown) => e)
    expect(refusal).toBeInstanceOf(ExportRefusal)
    expect((refusal as ExportRefusal).field).toBe('peft-lora')
    expect((refusal as Error).message).toContain('export --merged or --adapter instead')
  })

  it('the back end refuses it with the reason exportOptions gave, worded as the Export step’s controls', async () => {
    runFolder('use-backend', useModelDir, 'siva')
    const b = backend()
    const options = (await b.call('exportOptions', { runId: 'use-backend' })) as { outputs: Record<string, { available: boolean; reason?: string }> }
    expect(options.outputs['peft-lora']!.available).toBe(false)
    await expect(b.call('exportRun', { runId: 'use-backend', outputs: { 'peft-lora': join(root, 'out', 'peft-b') } })).rejects.toThrow(options.outputs['peft-lora']!.reason!)
    await expect(b.call('exportRun', { runId: 'use-backend', outputs: { 'peft-lora': join(root, 'out', 'peft-b') } })).rejects.not.toThrow(/--/)
  })

  it('a folder an earlier export wrote: the app says tick Overwrite, the CLI says --force', async () => {
    const dir = runFolder('bert-force', tinyBert, 'siva')
    const earlier = join(root, 'out', 'earlier-report')
    mkdirSync(earlier, { recursive: true })
    writeFileSync(join(earlier, '.siva-export'), '{"writtenBy":"siva export","kind":"report"}\n')
    writeFileSync(join(earlier, 'report.json'), '{}')
    await expect(backend().call('exportRun', { runId: 'bert-force', outputs: { report: earlier } })).rejects.toThrow(`${earlier}: already exists; choose a new folder or tick Overwrite to replace it`)
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      await expect(exportCommand([dir, '--report', earlier, '--quiet'])).rejects.toThrow(`${earlier}: already exists; choose a new folder or pass --force to replace it`)
    } finally {
      stderr.mockRestore()
    }
  })

  it('a run with no best checkpoint: the app points to Last under Checkpoint, the CLI to --checkpoint last', async () => {
    const dir = runFolder('bert-nobest', tinyBert, 'siva')
    await expect(backend().call('exportRun', { runId: 'bert-nobest', checkpoint: 'best', outputs: { report: join(root, 'out', 'nobest') } })).rejects.toThrow('no best checkpoint (no evaluation has run yet; choose Last under Checkpoint)')
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      await expect(exportCommand([dir, '--checkpoint', 'best', '--report', join(root, 'out', 'nobest-cli'), '--quiet'])).rejects.toThrow('no best checkpoint (no evaluation has run yet; use --checkpoint last)')
    } finally {
      stderr.mockRestore()
    }
  })
})

describe('revealPath', () => {
  it('shows a folder in the runs folder, and refuses anything else without calling the host', async () => {
    const shown: string[] = []
    const b = backend({ reveal: (path) => void shown.push(path) })
    const inside = join(runsDir, 'bert-siva')
    expect(await b.call('revealPath', { path: inside })).toEqual({ revealed: realpathSync(inside) })
    const outside = join(root, 'elsewhere')
    mkdirSync(outside, { recursive: true })
    symlinkSync(outside, join(runsDir, 'bert-siva', 'link-out'))
    const hostile = [outside, '/', runsDir, join(runsDir, '..'), join(runsDir, 'bert-siva', '..', '..', 'elsewhere'), join(runsDir, 'bert-siva', 'link-out'), 'runs/bert-siva', join(runsDir, 'nope'), `${inside}\u0000/x`, '~']
    for (const path of hostile) await expect(b.call('revealPath', { path }), path).rejects.toThrow(/^revealPath: /)
    await expect(b.call('revealPath', { path: '' })).rejects.toThrow(/revealPath/)
    await expect(b.call('revealPath', { path: inside, extra: 1 })).rejects.toThrow(/revealPath/)
    expect(shown).toEqual([realpathSync(inside)])
  })

  it('is refused where the host has no file manager (siva serve)', async () => {
    await expect(backend().call('revealPath', { path: join(runsDir, 'bert-siva') })).rejects.toThrow('revealPath: there is no file manager to show a folder in from a browser; copy the path instead')
  })
})
