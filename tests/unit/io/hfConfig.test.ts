import { mkdir, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeModel, readModelConfig } from '../../../src/main/engine/io'
import { expectFormatError, gpt2Dir, makeTempDir, removeTempDir } from './helpers'

let tmp: string
beforeAll(async () => {
  tmp = await makeTempDir('config')
})
afterAll(async () => {
  await removeTempDir(tmp)
})

async function configIn(name: string, content: string): Promise<string> {
  const dir = join(tmp, name)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'config.json'), content)
  return dir
}

describe('readModelConfig', () => {
  it('reads the real tiny-random-gpt2 config the way transformers does', async () => {
    const config = await readModelConfig(gpt2Dir)
    expect(config).toMatchObject({
      modelType: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      hiddenSize: 32,
      numLayers: 5,
      numHeads: 4,
      // n_inner is null, so 4·n_embd; the stray intermediate_size 37 is not GPT-2's field
      intermediateSize: 128,
      vocabSize: 1000,
      maxPositions: 512,
      layerNormEps: 1e-5,
      // GPT-2 reads activation_function; the file's hidden_act "gelu" is another leftover
      activation: 'gelu_new',
      torchDtype: 'float32',
      tieWordEmbeddings: true
    })
    expect(config?.raw.intermediate_size).toBe(37)
    expect(config?.numLabels).toBeUndefined()
    expect(config?.imageSize).toBeUndefined()
  })

  it('returns undefined when the folder has no config.json', async () => {
    expect(await readModelConfig(tmp)).toBeUndefined()
  })

  it('uses n_inner when GPT-2 sets it', () => {
    expect(describeModel('config.json', { model_type: 'gpt2', n_embd: 64, n_inner: 100 }).intermediateSize).toBe(100)
  })

  it('reads BERT and RoBERTa names, labels included', () => {
    const bert = describeModel('config.json', {
      model_type: 'bert',
      hidden_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 512,
      vocab_size: 30522,
      max_position_embeddings: 512,
      layer_norm_eps: 1e-12,
      hidden_act: 'gelu',
      id2label: { '0': 'NEGATIVE', '1': 'POSITIVE' },
      label2id: { NEGATIVE: 0, POSITIVE: 1 },
      tie_word_embeddings: false
    })
    expect(bert).toMatchObject({
      hiddenSize: 128,
      numLayers: 2,
      numHeads: 2,
      intermediateSize: 512,
      layerNormEps: 1e-12,
      activation: 'gelu',
      numLabels: 2,
      id2label: { 0: 'NEGATIVE', 1: 'POSITIVE' },
      label2id: { NEGATIVE: 0, POSITIVE: 1 },
      tieWordEmbeddings: false
    })
    // A field the file leaves out takes the config class default.
    expect(describeModel('config.json', { model_type: 'roberta', num_labels: 3 })).toMatchObject({ vocabSize: 50265, hiddenSize: 768, numLabels: 3 })
  })

  it('reads ViT image fields', () => {
    const vit = describeModel('config.json', { model_type: 'vit', hidden_size: 192, image_size: 32, patch_size: 4, num_channels: 3, torch_dtype: 'bfloat16' })
    expect(vit).toMatchObject({ modelType: 'vit', hiddenSize: 192, imageSize: 32, patchSize: 4, numChannels: 3, intermediateSize: 3072, torchDtype: 'bfloat16' })
    expect(vit.vocabSize).toBeUndefined()
  })

  it('reports the common fields of an unknown model type, under either naming, without defaults', () => {
    const llama = describeModel('config.json', { model_type: 'llama', hidden_size: 64, num_hidden_layers: 3, intermediate_size: 172, dtype: 'float16' })
    expect(llama).toMatchObject({ modelType: 'llama', hiddenSize: 64, numLayers: 3, intermediateSize: 172, torchDtype: 'float16' })
    expect(llama.numHeads).toBeUndefined()
    const gptStyle = describeModel('config.json', { model_type: 'gpt_neo_custom', n_embd: 48, n_layer: 2, n_head: 3 })
    expect(gptStyle).toMatchObject({ hiddenSize: 48, numLayers: 2, numHeads: 3 })
  })

  it('rejects a malformed config.json, naming it', async () => {
    const broken = await configIn('broken', '{"model_type": "gpt2", ')
    await expectFormatError(readModelConfig(broken), { file: join(broken, 'config.json'), message: /not valid JSON/ })
    const array = await configIn('array', '[]')
    await expectFormatError(readModelConfig(array), { file: join(array, 'config.json'), message: /JSON object/ })
    const wrongType = await configIn('wrong-type', '{"model_type": "gpt2", "n_embd": "32"}')
    await expectFormatError(readModelConfig(wrongType), { file: join(wrongType, 'config.json'), message: /field "n_embd" must be a whole number from 0 to 65,536 \(got "32"\)/ })
    const badLabels = await configIn('bad-labels', '{"model_type": "bert", "id2label": {"first": "A"}}')
    await expectFormatError(readModelConfig(badLabels), { file: join(badLabels, 'config.json'), message: /field "id2label" must map integer ids/ })
  })

  it('refuses a config.json larger than any config before reading it', async () => {
    const huge = await configIn('huge', '{}')
    // Sparse: 300 MiB of nothing costs no disk, and reading it whole would cost 300 MiB of memory and more to parse.
    await truncate(join(huge, 'config.json'), 300 * 2 ** 20)
    await expectFormatError(readModelConfig(huge), { file: join(huge, 'config.json'), message: /cannot read: 300 MiB, more than the 256 MiB such a file may hold/ })
  })
})
