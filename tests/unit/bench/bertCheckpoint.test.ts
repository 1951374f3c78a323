import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ensureBertCheckpoint } from '../../../bench/bertCheckpoint'
import { openCheckpoint } from '../../../src/main/engine/io'
import { pythonWithNumpy, repoRoot, tempDir } from '../../helpers/paths'

// bench/make_bert_random.py is the reference: the TypeScript writer must give the same tensors (names,
// shapes, dtypes) and config, so the PyTorch reference and the engine read the same model either way.
describe('ensureBertCheckpoint (bench/bertCheckpoint.ts)', () => {
  it('writes the tensors and config that bench/make_bert_random.py writes, at N(0, 0.02²) and LayerNorm ones', async () => {
    const ours = tempDir('bert-ts')
    const theirs = tempDir('bert-py')
    await ensureBertCheckpoint(ours, 1)
    const made = spawnSync(pythonWithNumpy(), [join(repoRoot, 'bench/make_bert_random.py'), theirs, '1'], { encoding: 'utf8' })
    expect(made.status, made.stderr).toBe(0)
    expect(JSON.parse(readFileSync(join(ours, 'config.json'), 'utf8'))).toEqual(JSON.parse(readFileSync(join(theirs, 'config.json'), 'utf8')))
    const a = await openCheckpoint(ours)
    const b = await openCheckpoint(theirs)
    try {
      const layout = (tensors: typeof a.tensors): string[] => tensors.map((t) => `${t.name} ${t.dtype} ${t.shape.join('×')}`).sort()
      expect(layout(a.tensors)).toEqual(layout(b.tensors))
      expect(a.tensors).toHaveLength(5 + 16 + 2)
      expect(a.config?.modelType).toBe('bert')
      expect(a.config?.numLayers).toBe(1)
      const embedding = await a.readFloat64('bert.embeddings.word_embeddings.weight')
      let sum = 0
      let squares = 0
      for (const x of embedding) {
        sum += x
        squares += x * x
      }
      const mean = sum / embedding.length
      const std = Math.sqrt(squares / embedding.length - mean * mean)
      expect(Math.abs(mean)).toBeLessThan(1e-4)
      expect(std).toBeGreaterThan(0.0199)
      expect(std).toBeLessThan(0.0201)
      expect([...(await a.readFloat64('bert.encoder.layer.0.output.LayerNorm.weight'))].every((x) => x === 1)).toBe(true)
      expect([...(await a.readFloat64('bert.pooler.dense.bias'))].every((x) => x !== 0)).toBe(true)
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('leaves a folder that already holds model.safetensors alone', async () => {
    const dir = tempDir('bert-kept')
    await ensureBertCheckpoint(dir, 1)
    const before = readFileSync(join(dir, 'model.safetensors'))
    await ensureBertCheckpoint(dir, 2)
    expect(readFileSync(join(dir, 'model.safetensors')).equals(before)).toBe(true)
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).num_hidden_layers).toBe(1)
  })
})
