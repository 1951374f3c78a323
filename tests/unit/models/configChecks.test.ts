import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CheckpointFormatError, openCheckpoint } from '../../../src/main/engine/io'
import { familyFor } from '../../../src/main/engine/models/registry'
import { describeModel } from '../../../src/main/services/models'
import { repoRoot, tinyGpt2 } from '../../helpers/paths'
import { makeTempDir, removeTempDir } from '../io/helpers'

/**
 * What a config.json may claim. Sizes are bounded (a config claiming 1e12 layers exhausted the heap,
 * and under `siva serve` the server with it) and checked against the tensors that hold them; values
 * a model uses (dropout, initializer_range, epsilons, flags) must be what transformers accepts, not
 * silently replaced by a default; every refusal names the config.json file and the field.
 */

const fixtures = {
  bert: join(repoRoot, 'tests/fixtures/models/tiny-bert'),
  roberta: join(repoRoot, 'tests/fixtures/models/tiny-roberta'),
  gpt2: tinyGpt2,
  vit: join(repoRoot, 'tests/fixtures/models/tiny-vit')
}
type Family = keyof typeof fixtures

let tmp: string
let count = 0
beforeAll(async () => {
  tmp = await makeTempDir('config-checks')
})
afterAll(async () => {
  await removeTempDir(tmp)
})

/** A copy of a tiny checkpoint whose config.json has `changes` applied (undefined deletes a field). */
async function variant(family: Family, changes: Record<string, unknown>): Promise<{ dir: string; config: string }> {
  const dir = join(tmp, `${family}-${count++}`)
  await mkdir(dir)
  await copyFile(join(fixtures[family], 'model.safetensors'), join(dir, 'model.safetensors'))
  const config = JSON.parse(await readFile(join(fixtures[family], 'config.json'), 'utf8')) as Record<string, unknown>
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete config[key]
    else config[key] = value
  }
  await writeFile(join(dir, 'config.json'), JSON.stringify(config))
  return { dir, config: join(dir, 'config.json') }
}

/** Open the checkpoint and list its targets from its tensors, as the model summary and training do. */
async function openAndList(dir: string): Promise<number> {
  const source = await openCheckpoint(dir)
  try {
    return familyFor(source.config, dir).targets(source.config!, source.tensors).length
  } finally {
    await source.close()
  }
}

/** Build the model too: what the training worker does after listing the targets. */
async function build(dir: string): Promise<void> {
  const source = await openCheckpoint(dir)
  try {
    const family = familyFor(source.config, dir)
    const task = source.config!.modelType === 'vit' ? 'image-classification' : 'classification'
    const model = await family.build(source, source.config!, { task, numLabels: 3 })
    model.dispose()
  } finally {
    await source.close()
  }
}

/** The call is refused with a one-line CheckpointFormatError that starts with the config file and names the field. */
async function refused(promise: Promise<unknown>, config: string, field: string, message?: RegExp): Promise<string> {
  const error = await promise.then(
    () => {
      throw new Error(`expected field "${field}" of ${config} to be refused, but it was accepted`)
    },
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(CheckpointFormatError)
  const text = (error as Error).message
  expect((error as CheckpointFormatError).file).toBe(config)
  expect(text.startsWith(`${config}: field "${field}" `)).toBe(true)
  expect(text).not.toMatch(/[\r\n]/)
  if (message) expect(text).toMatch(message)
  return text
}

describe('sizes a config.json claims are bounded', () => {
  it.each([
    ['bert', 'num_hidden_layers', 1e12, /must be a whole number from 0 to 1,024 \(got 1000000000000\)/],
    ['gpt2', 'n_layer', 1e12, /from 0 to 1,024/],
    ['vit', 'num_hidden_layers', 2 ** 40, /from 0 to 1,024/],
    ['bert', 'hidden_size', 1e9, /from 0 to 65,536/],
    ['gpt2', 'n_embd', 1e9, /from 0 to 65,536/],
    ['bert', 'num_attention_heads', 1e7, /from 0 to 1,024/],
    ['bert', 'intermediate_size', 1e10, /from 0 to 262,144/],
    ['gpt2', 'n_inner', 1e10, /from 0 to 262,144/],
    ['bert', 'vocab_size', 1e12, /from 0 to 4,194,304/],
    ['bert', 'max_position_embeddings', 1e15, /from 0 to 16,777,216/],
    ['vit', 'image_size', 1e6, /from 0 to 16,384/],
    ['bert', 'num_labels', 1e9, /from 0 to 1,048,576/],
    ['bert', 'num_hidden_layers', 2.5, /whole number/],
    ['bert', 'num_hidden_layers', -2, /whole number/]
  ] as const)('%s: %s = %d is refused when the checkpoint is opened', async (family, field, value, message) => {
    const changes: Record<string, unknown> = { [field]: value }
    if (field === 'num_labels') Object.assign(changes, { id2label: undefined, label2id: undefined })
    const { dir, config } = await variant(family, changes)
    await refused(openCheckpoint(dir), config, field, message)
  })
})

describe('sizes a config.json claims must match the tensors', () => {
  it.each([
    ['bert', { num_hidden_layers: 3 }, 'num_hidden_layers', /says 3 layers, but the weights hold 2 \(bert\.encoder\.layer\.0 to 1\)/],
    ['bert', { num_hidden_layers: 1 }, 'num_hidden_layers', /says 1 layer, but the weights hold 2/],
    ['roberta', { num_hidden_layers: 4 }, 'num_hidden_layers', /but the weights hold 2 \(roberta\.encoder\.layer\.0 to 1\)/],
    ['gpt2', { n_layer: 6 }, 'n_layer', /says 6 layers, but the weights hold 5 \(transformer\.h\.0 to 4\)/],
    ['vit', { num_hidden_layers: 12 }, 'num_hidden_layers', /says 12 layers, but the weights hold 2/],
    ['bert', { hidden_size: 64 }, 'hidden_size', /says 64, but tensor bert\.embeddings\.word_embeddings\.weight has shape \[120, 32\]/],
    ['gpt2', { n_embd: 64 }, 'n_embd', /says 64, but tensor transformer\.wte\.weight has shape \[1000, 32\]/],
    ['bert', { intermediate_size: 40 }, 'intermediate_size', /says 40, but tensor bert\.encoder\.layer\.0\.intermediate\.dense\.weight has shape \[37, 32\]/],
    ['gpt2', { n_inner: 100 }, 'n_inner', /says 100, but tensor transformer\.h\.0\.mlp\.c_fc\.weight has shape \[32, 128\]/],
    ['bert', { vocab_size: 200 }, 'vocab_size', /says 200, but tensor bert\.embeddings\.word_embeddings\.weight has shape \[120, 32\]/],
    ['bert', { max_position_embeddings: 512 }, 'max_position_embeddings', /says 512, but tensor bert\.embeddings\.position_embeddings\.weight/],
    ['vit', { patch_size: 4 }, 'patch_size', /says 4, but tensor vit\.embeddings\.patch_embeddings\.projection\.weight has shape \[32, 3, 8, 8\]/],
    ['vit', { num_channels: 1 }, 'num_channels', /says 1, but tensor vit\.embeddings\.patch_embeddings\.projection\.weight/],
    ['vit', { image_size: 64 }, 'image_size', /says 64 \(65 positions in 8-pixel patches\), but tensor vit\.embeddings\.position_embeddings has shape \[1, 17, 32\]/]
  ] as const)('%s: %j is refused, naming the tensor', async (family, changes, field, message) => {
    const { dir, config } = await variant(family, changes)
    await refused(openAndList(dir), config, field, message)
    await refused(build(dir), config, field, message)
  })

  it('a config that agrees with its tensors is accepted by every family', async () => {
    for (const family of Object.keys(fixtures) as Family[]) {
      const { dir } = await variant(family, {})
      expect(await openAndList(dir)).toBeGreaterThan(0)
      await build(dir)
    }
  })
})

describe('values a model uses are checked, not replaced by a default', () => {
  it.each([
    ['bert', 'hidden_dropout_prob', 2.0, /must be a probability from 0 up to \(not including\) 1 \(got 2\)/],
    ['bert', 'hidden_dropout_prob', 'x', /probability .* \(got "x"\)/],
    ['bert', 'attention_probs_dropout_prob', -0.1, /probability/],
    ['bert', 'classifier_dropout', 1.5, /probability/],
    ['roberta', 'hidden_dropout_prob', 1, /probability/],
    ['gpt2', 'resid_pdrop', 'x', /probability/],
    ['gpt2', 'embd_pdrop', 2, /probability/],
    ['gpt2', 'attn_pdrop', -1, /probability/],
    ['vit', 'hidden_dropout_prob', 2, /probability/],
    ['vit', 'attention_probs_dropout_prob', '0.1', /probability/],
    ['bert', 'initializer_range', -0.02, /must be greater than 0 and at most 1 \(got -0\.02\)/],
    ['gpt2', 'initializer_range', 0, /greater than 0/],
    ['vit', 'initializer_range', 'big', /greater than 0|must be a number/],
    ['bert', 'layer_norm_eps', -1, /greater than 0/],
    ['gpt2', 'layer_norm_epsilon', 0, /greater than 0/],
    ['vit', 'layer_norm_eps', -1e-12, /greater than 0/],
    ['roberta', 'pad_token_id', 1.5, /whole number/],
    ['roberta', 'pad_token_id', 500, /less than the vocabulary's 100 entries/],
    ['bert', 'hidden_act', 'swishy', /is not an activation SiVA runs \(gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, tanh, silu, swish\) \(got "swishy"\)/],
    ['gpt2', 'activation_function', 'mish', /is not an activation SiVA runs/],
    ['vit', 'qkv_bias', 'yes', /must be true or false/],
    ['gpt2', 'scale_attn_weights', 'no', /must be true or false/],
    ['gpt2', 'scale_attn_by_inverse_layer_idx', 1, /must be true or false/],
    ['bert', 'is_decoder', true, /SiVA runs bert as an encoder only/],
    ['gpt2', 'add_cross_attention', true, /decoder without an encoder/],
    ['bert', 'position_embedding_type', 'relative_key', /"relative_key" is not supported \(only "absolute"\)/],
    ['bert', 'num_attention_heads', 5, /hidden_size 32 is not a multiple of num_attention_heads 5/],
    ['gpt2', 'n_head', 3, /n_embd 32 is not a multiple of n_head 3/],
    ['bert', 'num_attention_heads', 0, /whole number from 1/]
  ] as const)('%s: %s = %j is refused, naming config.json and the field', async (family, field, value, message) => {
    const { dir, config } = await variant(family, { [field]: value })
    await refused(openAndList(dir).then(() => build(dir)), config, field, message)
  })

  it('a ViT image that its patches do not tile is refused naming image_size', async () => {
    const { dir, config } = await variant('vit', { image_size: 36 })
    await refused(openAndList(dir), config, 'image_size', /36 is not a multiple of patch_size 8/)
  })

  it('null dropout fields fall back as transformers does (classifier_dropout null: hidden_dropout_prob)', async () => {
    const { dir } = await variant('bert', { classifier_dropout: null, hidden_dropout_prob: 0.2 })
    await build(dir)
  })
})

describe("the model summary (the back end's openModel, under siva serve too)", () => {
  it('refuses a config claiming 1e12 layers at once, without growing the heap', async () => {
    const { dir, config } = await variant('bert', { num_hidden_layers: 1e12 })
    const heap = process.memoryUsage().heapUsed
    await refused(describeModel(dir), config, 'num_hidden_layers', /from 0 to 1,024/)
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(64 * 2 ** 20)
  })

  it('shows a checkpoint whose config disagrees with its tensors as not trainable, saying why', async () => {
    const { dir, config } = await variant('gpt2', { n_layer: 7 })
    const summary = await describeModel(dir)
    expect(summary.targets).toEqual([])
    expect(summary.notTrainable).toBe(`${config}: field "n_layer" says 7 layers, but the weights hold 5 (transformer.h.0 to 4)`)
  })
})
