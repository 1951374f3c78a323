import * as tf from '@tensorflow/tfjs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../src/main/engine/backend'
import { TextTokenizer } from '../../src/main/engine/data'
import { applyAdapter, exportRun, restoreRun } from '../../src/main/engine/export'
import { openCheckpoint } from '../../src/main/engine/io'
import { defaultTrainConfig, trainRun } from '../../src/main/engine/training/loop'
import { inProcessDecompose as decompose } from '../helpers/decompose'
import { repoRoot, tempDir } from '../helpers/paths'
import { loadGraphModelFromDisk, runUseGraph, useModelDir } from '../helpers/useGraph'

/**
 * A SiVA run on the sentence encoder, exported merged in the model's own format: TensorFlow.js's converter
 * loads the result (tf.loadGraphModel) and gives the logits the trained model gives, and an adapter put
 * back onto the base writes the same bytes.
 */
const root = tempDir('export-use')
const runDir = join(root, 'run')
const merged = join(root, 'merged')
const adapter = join(root, 'adapter')
// Not last: the graph's batch size is the highest row index it is given plus one, so a trailing empty text would vanish.
const texts = ['Congratulations! You have won a free cruise, reply now', '', 'Can we move the review to Thursday afternoon?', 'Cheap meds online, no prescription']

beforeAll(async () => {
  await selectBackend('wasm')
  const config = defaultTrainConfig({
    model: useModelDir,
    data: join(repoRoot, 'tests/fixtures/samples/spam-validation.csv'),
    task: 'classify',
    method: 'siva',
    // Every kind of kernel: fused q|k|v blocks, the output 1×1 convolutions, both feed-forward layers.
    targets: '.',
    k: 4,
    maxSteps: 3,
    batchSize: 8,
    maxLength: 24,
    lr: 5e-2,
    headLr: 5e-2,
    seed: 3
  })
  for await (const event of trainRun(config, runDir, { decompose })) if (event.type === 'error') throw new Error(event.message)
  await exportRun({ runDir, checkpoint: 'last', outputs: { merged, adapter } }, { decompose })
})

describe('merged export of a use-lite run', () => {
  it('loads with tf.loadGraphModel and gives the trained model\'s logits; the embedding node is still there', async () => {
    const tokenizer = await TextTokenizer.load(merged)
    const ids = texts.map((text) => tokenizer.encode(text).ids)
    const restored = await restoreRun(runDir, 'last', decompose, { keepModel: true })
    let ours: Float32Array
    try {
      const length = Math.max(...ids.map((row) => row.length))
      const inputIds = new Int32Array(ids.length * length)
      const attentionMask = new Int32Array(ids.length * length)
      ids.forEach((row, r) => row.forEach((id, j) => ((inputIds[r * length + j] = id), (attentionMask[r * length + j] = 1))))
      expect(restored.adapters.every((a) => a.variables[0]!.dataSync().some((d) => d !== 0))).toBe(true)
      ours = tf.tidy(() => restored.model!.forward({ batchSize: ids.length, length, inputIds, attentionMask }).dataSync() as Float32Array)
    } finally {
      await restored.close()
    }
    const document = JSON.parse(await readFile(join(merged, 'model.json'), 'utf8')) as { userDefinedMetadata: { siva: { logits: string; embedding: string } } }
    await tf.setBackend('cpu')
    try {
      const graph = await loadGraphModelFromDisk(join(merged, 'model.json'))
      const logits = await runUseGraph(graph, ids)
      expect(logits.length).toBe(ours.length)
      for (let i = 0; i < ours.length; i++) expect(Math.abs(logits[i]! - ours[i]!)).toBeLessThan(1e-4)
      const embedding = await runUseGraph(graph, ids, document.userDefinedMetadata.siva.embedding)
      expect(embedding.length).toBe(ids.length * 512)
      graph.dispose()
      // The base graph's embeddings differ: the merge changed the encoder, not only the head.
      const base = await loadGraphModelFromDisk(join(useModelDir, 'model.json'))
      const before = await runUseGraph(base, ids)
      base.dispose()
      expect(Math.max(...before.map((v, i) => Math.abs(v - embedding[i]!)))).toBeGreaterThan(1e-4)
    } finally {
      await tf.setBackend('wasm')
    }
    const config = JSON.parse(await readFile(join(merged, 'config.json'), 'utf8')) as Record<string, unknown>
    expect(config).toMatchObject({ model_type: 'use-lite', num_labels: 2, id2label: { 0: 'ham', 1: 'spam' } })
    // The marker that lets a later export --force replace this folder, and nothing else.
    expect(JSON.parse(await readFile(join(merged, '.siva-export'), 'utf8'))).toEqual({ writtenBy: 'siva export', kind: 'merged' })
  })

  it('copies every weight nothing trained byte for byte, and an adapter applied to the base writes the same bytes', async () => {
    const base = await openCheckpoint(useModelDir)
    const out = await openCheckpoint(merged)
    try {
      expect(out.config?.modelType).toBe('use-lite')
      const kernels = new Set(['qkv_transform_single/kernel', 'output_transform_single/kernel', 'Tensordot/Reshape_1'])
      let untouched = 0
      for (const info of base.tensors) {
        const same = Buffer.from(await base.readRaw(info.name)).equals(Buffer.from(await out.readRaw(info.name)))
        const adapted = [...kernels].some((k) => info.name.includes(k))
        expect(same, info.name).toBe(!adapted)
        if (same) untouched++
      }
      expect(untouched).toBe(base.tensors.length - 8)
    } finally {
      await base.close()
      await out.close()
    }
    const again = join(root, 'applied')
    await applyAdapter(adapter, useModelDir, again, { decompose })
    const files = JSON.parse(await readFile(join(merged, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] }
    for (const path of files.weightsManifest[0]!.paths) expect((await readFile(join(again, path))).equals(await readFile(join(merged, path))), path).toBe(true)
  })

  it('refuses PEFT LoRA with the reason', async () => {
    await expect(exportRun({ runDir, outputs: { 'peft-lora': join(root, 'peft') } }, { decompose })).rejects.toThrow(/PEFT loads Hugging Face transformers models, and use-lite is not one/)
  })
})
