import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeMergedCheckpoint } from '../../../src/main/engine/export'
import { openCheckpoint, openSafetensors, writeSafetensors } from '../../../src/main/engine/io'
import { tempDir } from '../../helpers/paths'

// The part of a merged export that leaves out what the target class has no place for (WeightUpdates.keeps),
// on a sharded checkpoint whose second shard holds nothing but another task's head. hf-exports.test.ts loads
// such exports in the real transformers; this pins the file layout.

async function shardedCheckpoint(dir: string): Promise<void> {
  const values = (n: number, start: number): Float32Array => Float32Array.from({ length: n }, (_, i) => start + i)
  await writeSafetensors(join(dir, 'model-00001-of-00003.safetensors'), [
    { name: 'bert.encoder.weight', dtype: 'F32', shape: [2, 2], data: values(4, 1) },
    { name: 'cls.predictions.bias', dtype: 'F32', shape: [3], data: values(3, 10) }
  ])
  await writeSafetensors(join(dir, 'model-00002-of-00003.safetensors'), [
    { name: 'cls.predictions.transform.dense.weight', dtype: 'F32', shape: [2, 2], data: values(4, 20) }
  ])
  await writeSafetensors(join(dir, 'model-00003-of-00003.safetensors'), [
    { name: 'bert.pooler.weight', dtype: 'F32', shape: [2], data: values(2, 30) }
  ])
  const weightMap = {
    'bert.encoder.weight': 'model-00001-of-00003.safetensors',
    'cls.predictions.bias': 'model-00001-of-00003.safetensors',
    'cls.predictions.transform.dense.weight': 'model-00002-of-00003.safetensors',
    'bert.pooler.weight': 'model-00003-of-00003.safetensors'
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 52, note: 'kept' }, weight_map: weightMap }))
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', architectures: ['BertForMaskedLM'] }))
}

describe('merged export: tensors the class has no place for are left out', () => {
  it('drops them, writes no shard left empty, and the index names only what was written', async () => {
    const base = tempDir('keeps-base')
    await shardedCheckpoint(base)
    const out = tempDir('keeps-out')
    const source = await openCheckpoint(base)
    let written
    try {
      written = await writeMergedCheckpoint(
        source,
        base,
        { lowRank: [], replaced: [{ name: 'classifier.weight', shape: [2], values: Float32Array.from([7, 8]) }], keeps: (name) => /^bert\./.test(name) },
        { architectures: ['BertForSequenceClassification'] },
        out
      )
    } finally {
      await source.close()
    }
    expect(written.dropped.sort()).toEqual(['cls.predictions.bias', 'cls.predictions.transform.dense.weight'])
    expect(existsSync(join(out, 'model-00002-of-00003.safetensors'))).toBe(false)
    expect(written.files).not.toContain('model-00002-of-00003.safetensors')
    const index = JSON.parse(readFileSync(join(out, 'model.safetensors.index.json'), 'utf8')) as { metadata: Record<string, unknown>; weight_map: Record<string, string> }
    expect(index.weight_map).toEqual({
      'bert.encoder.weight': 'model-00001-of-00003.safetensors',
      'bert.pooler.weight': 'model-00003-of-00003.safetensors',
      'classifier.weight': 'model-00003-of-00003.safetensors'
    })
    // total_size: what the files hold now (4 + 2 + 2 float32), the index's other fields kept.
    expect(index.metadata).toEqual({ total_size: 32, note: 'kept' })
    for (const file of new Set(Object.values(index.weight_map))) expect(existsSync(join(out, file))).toBe(true)
    const first = await openSafetensors(join(out, 'model-00001-of-00003.safetensors'))
    try {
      expect(first.tensors.map((t) => t.name)).toEqual(['bert.encoder.weight'])
      expect(Array.from(await first.readFloat64('bert.encoder.weight'))).toEqual([1, 2, 3, 4])
    } finally {
      await first.close()
    }
  })

  it('keeps is asked about the name the tensor is written under (after a bare checkpoint gains its prefix)', async () => {
    const base = tempDir('keeps-bare')
    await writeSafetensors(join(base, 'model.safetensors'), [
      { name: 'encoder.weight', dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) },
      { name: 'cls.bias', dtype: 'F32', shape: [1], data: Float32Array.from([3]) }
    ])
    writeFileSync(join(base, 'config.json'), JSON.stringify({ model_type: 'bert' }))
    const asked: string[] = []
    const source = await openCheckpoint(base)
    try {
      const written = await writeMergedCheckpoint(source, base, { lowRank: [], replaced: [], renamePrefix: 'bert.', keeps: (name) => (asked.push(name), name.startsWith('bert.encoder.')) }, {}, tempDir('keeps-bare-out'))
      expect(written.dropped).toEqual(['cls.bias'])
    } finally {
      await source.close()
    }
    expect(asked.sort()).toEqual(['bert.cls.bias', 'bert.encoder.weight'])
  })
})
