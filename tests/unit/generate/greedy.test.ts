import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../src/main/engine/backend'
import { TextTokenizer } from '../../../src/main/engine/data/tokenizer'
import { disposeCache, generateGreedy, generateGreedyIds, isCachedDecoder, stopIdsFor, type CachedDecoder, type KvCache } from '../../../src/main/engine/generate'
import { openCheckpoint, type TensorSource } from '../../../src/main/engine/io'
import { familyFor } from '../../../src/main/engine/models/registry'
import type { BuiltModel } from '../../../src/main/engine/models/types'
import { hfFixture, hfReference } from '../../helpers/hfref'
import { tempDir } from '../../helpers/paths'

// Greedy decoding with the key/value cache against the real transformers 4.44 (tests/reference/hf_generate.py:
// generate(do_sample=False) with its own cache, float32) on hfref's gpt2-lm, llama-lm (GQA, llama3 rope
// scaling) and qwen2-lm (q/k/v biases, tied embeddings), and on a Mistral checkpoint save_pretrained writes
// here (tests/reference/hf_decoder.py) whose sliding window (4) is far shorter than the sequences generated:
// the same new ids, the same per-step logits, the same stop on eos; and each cached step's logits equal the
// full forward's at the last position.

interface HfGeneration {
  prompt_ids: number[]
  ids: number[]
  text?: string
  logits: number[][]
}

interface Case {
  name: string
  dir: string
  source: TensorSource
  model: BuiltModel & CachedDecoder
  tokenizer?: TextTokenizer
}

const mistralConfig = {
  model_type: 'mistral', vocab_size: 1064, hidden_size: 32, intermediate_size: 37, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, head_dim: 12, sliding_window: 4, rope_theta: 10000, rms_norm_eps: 1e-6, max_position_embeddings: 64,
  bos_token_id: 1, eos_token_id: 2
}

const idPrompts = [[5, 17, 42, 8], [300], [11, 12, 13, 14, 15, 16, 17, 18, 19]]
const textPrompts = ['Hello world, this is', 'The cat sat on']
const maxNewTokens = 14
const cases: Case[] = []

function job(dir: string, prompt: number[] | string, eos: number | null = null, tokens = maxNewTokens): object {
  return { model: dir, prompt, max_new_tokens: tokens, eos_token_id: eos }
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!))
  return worst
}

/** Each step's logits by feeding the tokens through forwardCached one at a time, after the prompt in one step. */
function cachedLogits(model: CachedDecoder, prompt: number[], continuation: number[]): Float32Array[] {
  const out: Float32Array[] = []
  let cache: KvCache | undefined
  let input = prompt
  for (const next of continuation) {
    const step = model.forwardCached(input, cache)
    disposeCache(cache)
    cache = step.cache
    out.push(step.logits.dataSync() as Float32Array)
    step.logits.dispose()
    input = [next]
  }
  disposeCache(cache)
  return out
}

/** forward() over the whole sequence, its last position's logits. */
function fullLastLogits(model: BuiltModel, ids: number[]): Float32Array {
  return tf.tidy(() => {
    const logits = model.forward({ batchSize: 1, length: ids.length, inputIds: Int32Array.from(ids) }) as tf.Tensor3D
    return tf.slice(logits, [0, ids.length - 1, 0], [1, 1, logits.shape[2]]).dataSync() as Float32Array
  })
}

let reference: HfGeneration[]
const jobIndex = new Map<string, number>()

beforeAll(async () => {
  await selectBackend('wasm')
  const mistralDir = tempDir('mistral-generate')
  const saved = hfReference<{ results: { class: string }[] }>('hf_decoder.py', [], { jobs: [{ kind: 'save', out: mistralDir, config: mistralConfig, class: 'causal-lm', seed: 11 }] })
  expect(saved.results[0]!.class).toBe('MistralForCausalLM')
  const dirs: [string, string, boolean][] = [
    ['gpt2-lm', hfFixture('gpt2-lm'), true],
    ['llama-lm', hfFixture('llama-lm'), true],
    ['qwen2-lm', hfFixture('qwen2-lm'), true],
    ['mistral-window', mistralDir, false]
  ]
  for (const [name, dir, withTokenizer] of dirs) {
    const source = await openCheckpoint(dir)
    const model = await familyFor(source.config).build(source, source.config!, { task: 'causal-lm' })
    if (!isCachedDecoder(model)) throw new Error(`${name}: not a cached decoder`)
    cases.push({ name, dir, source, model, ...(withTokenizer && { tokenizer: await TextTokenizer.load(dir) }) })
  }
  const jobs: object[] = []
  const add = (key: string, value: object): void => {
    jobIndex.set(key, jobs.length)
    jobs.push(value)
  }
  for (const c of cases) {
    idPrompts.forEach((prompt, i) => add(`${c.name}/ids/${i}`, job(c.dir, prompt)))
    if (c.tokenizer) textPrompts.forEach((prompt, i) => add(`${c.name}/text/${i}`, job(c.dir, prompt)))
  }
  reference = hfReference<{ results: HfGeneration[] }>('hf_generate.py', [], { jobs }).results
}, 120_000)

afterAll(async () => {
  for (const c of cases) {
    c.model.dispose()
    await c.source.close()
  }
})

const hf = (key: string): HfGeneration => reference[jobIndex.get(key)!]!

describe.each(['gpt2-lm', 'llama-lm', 'qwen2-lm', 'mistral-window'])('greedy decoding: %s', (name) => {
  const get = (): Case => cases.find((c) => c.name === name)!

  it('generates the ids transformers generate(do_sample=False) does, with its logits at every step', async () => {
    const c = get()
    for (const [i, prompt] of idPrompts.entries()) {
      const expected = hf(`${name}/ids/${i}`)
      const result = await generateGreedyIds(c.model, prompt, { maxNewTokens })
      expect(result.ids, `prompt ${i}`).toEqual(expected.ids)
      expect(result.stoppedBy).toBe('length')
      const ours = cachedLogits(c.model, prompt, expected.ids)
      ours.forEach((logits, step) => expect(maxAbsDifference(logits, expected.logits[step]!), `prompt ${i} step ${step}`).toBeLessThan(2e-5))
    }
  })

  it('gives, at each cached step, the full forward pass’s logits at the last position', () => {
    const c = get()
    // The longest prompt then 14 tokens: well past Mistral's window of 4.
    const prompt = idPrompts[2]!
    const continuation = hf(`${name}/ids/2`).ids
    const steps = cachedLogits(c.model, prompt, continuation)
    steps.forEach((logits, step) => {
      const sequence = [...prompt, ...continuation.slice(0, step)]
      expect(maxAbsDifference(logits, fullLastLogits(c.model, sequence)), `step ${step}`).toBeLessThan(1e-5)
    })
    // Several new tokens in one step after a cache (a prompt fed in pieces) land where one pass puts them.
    const first = c.model.forwardCached(prompt.slice(0, 3))
    const rest = c.model.forwardCached(prompt.slice(3), first.cache)
    expect(rest.cache.length).toBe(prompt.length)
    expect(maxAbsDifference(rest.logits.dataSync(), fullLastLogits(c.model, prompt))).toBeLessThan(1e-5)
    for (const step of [first, rest]) {
      step.logits.dispose()
      disposeCache(step.cache)
    }
  })

  it('stops on a stop id and keeps it, as generate stops on eos_token_id', async () => {
    const c = get()
    const prompt = idPrompts[0]!
    const free = hf(`${name}/ids/0`).ids
    // A stop id that first comes a few tokens in.
    const at = free.findIndex((id, i) => i >= 2 && free.indexOf(id) === i)
    expect(at).toBeGreaterThan(0)
    const stop = free[at]!
    const [expected] = hfReference<{ results: HfGeneration[] }>('hf_generate.py', [], { jobs: [job(c.dir, prompt, stop)] }).results
    const result = await generateGreedyIds(c.model, prompt, { maxNewTokens, stopIds: [stop] })
    expect(result.ids).toEqual(expected!.ids)
    expect(result.ids).toEqual(free.slice(0, at + 1))
    expect(result.stoppedBy).toBe('eos')
  }, 60_000)

  it('stops when the signal aborts, and leaves no tensor behind', async () => {
    const c = get()
    const before = tf.memory().numTensors
    const controller = new AbortController()
    const result = await generateGreedyIds(c.model, idPrompts[0]!, { maxNewTokens, signal: controller.signal, onToken: (ids) => ids.length === 3 && controller.abort() })
    expect(result.stoppedBy).toBe('cancel')
    expect(result.ids).toEqual(hf(`${name}/ids/0`).ids.slice(0, 3))
    const aborted = await generateGreedyIds(c.model, idPrompts[0]!, { maxNewTokens, signal: controller.signal })
    expect(aborted).toMatchObject({ ids: [], stoppedBy: 'cancel' })
    await generateGreedyIds(c.model, idPrompts[1]!, { maxNewTokens })
    expect(tf.memory().numTensors).toBe(before)
  })

  it.runIf(name !== 'mistral-window')('tokenises the prompt and decodes the continuation as the checkpoint’s tokenizer does', async () => {
    const c = get()
    const before = tf.memory().numTensors
    for (const [i, prompt] of textPrompts.entries()) {
      const expected = hf(`${name}/text/${i}`)
      const result = await generateGreedy(c.model, c.tokenizer!, prompt, { maxNewTokens })
      expect(result.promptIds).toEqual(expected.prompt_ids)
      expect(result.ids).toEqual(expected.ids)
      expect(result.text).toBe(expected.text)
      expect(result.seconds).toBeGreaterThan(0)
    }
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('greedy decoding: limits and stop ids', () => {
  it('stops at GPT-2’s last position with "length"', async () => {
    const c = cases.find((x) => x.name === 'gpt2-lm')!
    expect(c.model.maxPositions).toBe(64)
    const prompt = Array.from({ length: 60 }, (_, i) => 5 + i)
    const result = await generateGreedyIds(c.model, prompt, { maxNewTokens: 20 })
    expect(result).toMatchObject({ stoppedBy: 'length' })
    expect(result.ids).toHaveLength(4)
    await expect(generateGreedyIds(c.model, Array.from({ length: 65 }, () => 5), { maxNewTokens: 1 })).rejects.toThrow(/65 tokens, more than the model's 64 positions/)
    expect(() => c.model.forwardCached([2000])).toThrow(/token id 2000 is outside the vocabulary/)
  })

  it('stops on eos, generation_config.json’s eos and the chat end-of-turn tokens the tokenizer holds as one token', async () => {
    const qwen = cases.find((x) => x.name === 'qwen2-lm')!
    const ids = await stopIdsFor(qwen.tokenizer!, qwen.dir)
    const imEnd = qwen.tokenizer!.encode('<|im_end|>', { addSpecialTokens: false }).ids
    expect(imEnd).toHaveLength(1)
    expect(ids).toEqual([1062, imEnd[0]!].sort((a, b) => a - b))
    // GPT-2's byte-level BPE splits "<|im_end|>" into pieces: only its eos stops it.
    const gpt2 = cases.find((x) => x.name === 'gpt2-lm')!
    expect(await stopIdsFor(gpt2.tokenizer!, gpt2.dir)).toEqual([gpt2.tokenizer!.eosId])
  })

  it('refuses a model built for classification', async () => {
    const c = cases.find((x) => x.name === 'llama-lm')!
    const model = await familyFor(c.source.config).build(c.source, c.source.config!, { task: 'classification', numLabels: 2 })
    try {
      expect(() => (model as unknown as CachedDecoder).forwardCached([5, 6])).toThrow(/generation needs the causal-lm model/)
    } finally {
      model.dispose()
    }
  })
})
