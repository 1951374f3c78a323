import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openCheckpoint } from '../../../src/main/engine/io'
import { expectFormatError, gpt2Dir, ioFixtures, makeTempDir, removeTempDir } from './helpers'

let tmp: string
beforeAll(async () => {
  tmp = await makeTempDir('checkpoint')
})
afterAll(async () => {
  await removeTempDir(tmp)
})

describe('openCheckpoint', () => {
  it('opens a Hugging Face folder with model.safetensors and its config.json', async () => {
    const source = await openCheckpoint(gpt2Dir)
    try {
      expect(source.source).toBe(gpt2Dir)
      expect(source.format).toBe('safetensors')
      expect(source.tensors).toHaveLength(64)
      expect(source.unreadable).toEqual([])
      expect(source.config).toMatchObject({ modelType: 'gpt2', intermediateSize: 128 })
      expect(source.tensors[0]!.file).toBe(join(gpt2Dir, 'model.safetensors'))
    } finally {
      await source.close()
    }
  })

  it('opens any single .safetensors file, with no config when none sits beside it', async () => {
    const file = join(ioFixtures, 'dtypes.safetensors')
    const source = await openCheckpoint(file)
    expect(source.source).toBe(file)
    expect(source.config).toBeUndefined()
    expect(source.tensors.length).toBeGreaterThan(10)
    await source.close()
  })

  it('opens a tfjs model.json directly', async () => {
    const source = await openCheckpoint(join(ioFixtures, 'tfjs', 'model.json'))
    expect(source.format).toBe('tfjs')
    await source.close()
  })

  it('says what it looked for when a path has no weights', async () => {
    const missing = join(tmp, 'nowhere')
    await expectFormatError(openCheckpoint(missing), { file: missing, message: /no such file or folder/ })

    const empty = join(tmp, 'empty')
    await mkdir(empty)
    await expectFormatError(openCheckpoint(empty), { file: empty, message: /no weights found: looked for model\.safetensors, model\.safetensors\.index\.json, model\.json, pytorch_model\.bin and pytorch_model\.bin\.index\.json$/ })

    const torchOnly = join(tmp, 'torch-only')
    await mkdir(torchOnly)
    await writeFile(join(torchOnly, 'pytorch_model.bin'), 'not read')
    await copyFile(join(gpt2Dir, 'config.json'), join(torchOnly, 'config.json'))
    // A .bin is read now (tests/unit/io/torchCheckpoint.test.ts); one that is not torch.save's zip is refused, naming the file.
    const notTorch = join(torchOnly, 'pytorch_model.bin')
    await expectFormatError(openCheckpoint(torchOnly), { file: notTorch, message: /is not a PyTorch checkpoint: torch\.save writes a zip archive/ })

    const text = join(tmp, 'notes.txt')
    await writeFile(text, 'hello')
    await expectFormatError(openCheckpoint(text), { file: text, message: /not a weights file SiVA reads/ })
  })

  it('reports a broken config.json beside good weights', async () => {
    const folder = join(tmp, 'bad-config')
    await mkdir(folder)
    await copyFile(join(gpt2Dir, 'model.safetensors'), join(folder, 'model.safetensors'))
    await writeFile(join(folder, 'config.json'), '{ nope')
    await expectFormatError(openCheckpoint(folder), { file: join(folder, 'config.json'), message: /not valid JSON/ })
  })
})
