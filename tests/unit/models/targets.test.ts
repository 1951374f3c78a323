import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openCheckpoint, writeSafetensors } from '../../../src/main/engine/io'
import { readTargetWeights } from '../../../src/main/engine/models/ops'
import { familyFor } from '../../../src/main/engine/models/registry'
import { repoRoot, tempDir, tinyGpt2 } from '../../helpers/paths'

/** A copy of a checkpoint with its model prefix stripped from every tensor name, as a bare model saves it. */
async function bareCopy(dir: string, prefix: string): Promise<string> {
  const out = tempDir('bare')
  const source = await openCheckpoint(dir)
  const tensors = []
  for (const t of source.tensors) {
    if (!t.name.startsWith(prefix)) continue
    tensors.push({ name: t.name.slice(prefix.length), dtype: t.dtype, shape: t.shape, data: await source.readRaw(t.name) })
  }
  await source.close()
  await writeSafetensors(join(out, 'model.safetensors'), tensors)
  copyFileSync(join(dir, 'config.json'), join(out, 'config.json'))
  return out
}

describe.each([
  ['gpt2', tinyGpt2, 'transformer.'],
  ['bert', join(repoRoot, 'tests/fixtures/models/tiny-bert'), 'bert.'],
  ['roberta', join(repoRoot, 'tests/fixtures/models/tiny-roberta'), 'roberta.'],
  ['vit', join(repoRoot, 'tests/fixtures/models/tiny-vit'), 'vit.']
])('%s targets follow the tensors the checkpoint holds', (_family, dir, prefix) => {
  it('a bare copy whose config still names the full architecture: weights found without the prefix', async () => {
    const bare = await openCheckpoint(await bareCopy(dir, prefix))
    const family = familyFor(bare.config)
    const fromConfig = family.targets(bare.config!)
    const fromTensors = family.targets(bare.config!, bare.tensors)
    // Target names are module names of the full model either way; only where the weights live differs.
    expect(fromTensors.map((t) => t.name)).toEqual(fromConfig.map((t) => t.name))
    expect(fromConfig[0]!.weightTensor.startsWith(prefix)).toBe(true)
    expect(fromTensors.every((t) => !t.weightTensor.startsWith(prefix))).toBe(true)
    for (const target of fromTensors) expect((await readTargetWeights(bare, target)).weight.length).toBe(target.outFeatures * target.inFeatures)
    await bare.close()
  })
})
