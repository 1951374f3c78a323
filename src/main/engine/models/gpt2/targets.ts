import type { ModelDescription, TensorInfo } from '../../io'
import type { AdaptableLinear } from '../types'
import { checkGpt2Tensors, gpt2Settings, type Gpt2Settings } from './settings'

/**
 * Where GPT-2's weights live. A checkpoint saved from a model with a head (GPT2LMHeadModel,
 * GPT2ForSequenceClassification) names them `transformer.h.0...`; one saved from the bare GPT2Model has no
 * prefix: `h.0...`. transformers adds or strips the prefix on load, and so do we. Target *names* always
 * carry it (they are module names of the model with its head, what PEFT's target_modules match); only
 * `weightTensor`/`biasTensor` follow the checkpoint.
 *
 * `targets(config)` sees only config.json, so it guesses the prefix from `architectures` (only GPT2Model
 * means bare); `build` reads the tensor list, which is what counts.
 */
export const transformerPrefix = 'transformer.'

export function prefixFromConfig(config: ModelDescription): string {
  const architectures = config.architectures ?? []
  return architectures.length > 0 && architectures.every((name) => name === 'GPT2Model') ? '' : transformerPrefix
}

/** The prefix under which the token embeddings are found. */
export function prefixFromTensors(tensors: readonly TensorInfo[], source: string): string {
  const names = new Set(tensors.map((t) => t.name))
  if (names.has(`${transformerPrefix}wte.weight`)) return transformerPrefix
  if (names.has('wte.weight')) return ''
  throw new Error(`${source}: no tensor ${transformerPrefix}wte.weight (nor wte.weight, as a bare GPT2Model saves it): not a GPT-2 checkpoint`)
}

/** Bounds of query, key and value in c_attn's fused output axis. */
export function qkvSlices(hiddenSize: number): Record<'q' | 'k' | 'v', [number, number]> {
  return { q: [0, hiddenSize], k: [hiddenSize, 2 * hiddenSize], v: [2 * hiddenSize, 3 * hiddenSize] }
}

/**
 * The six projections of every block, all Conv1D (stored [in, out]): q, k and v cut out of the fused
 * c_attn, then attn.c_proj, mlp.c_fc and mlp.c_proj.
 */
export function gpt2Targets(settings: Gpt2Settings, prefix: string): AdaptableLinear[] {
  const { numLayers, hiddenSize, innerSize } = settings
  const slices = qkvSlices(hiddenSize)
  const targets: AdaptableLinear[] = []
  for (let block = 0; block < numLayers; block++) {
    const module = `h.${block}`
    const conv1d = (path: string, role: AdaptableLinear['role'], inFeatures: number, outFeatures: number, slice?: [number, number]): AdaptableLinear => {
      const target: AdaptableLinear = {
        name: `${transformerPrefix}${module}.${path}`,
        weightTensor: `${prefix}${module}.${path}.weight`,
        biasTensor: `${prefix}${module}.${path}.bias`,
        conv1d: true,
        outFeatures,
        inFeatures,
        block,
        role
      }
      if (slice) target.slice = slice
      return target
    }
    const fused = (part: 'q' | 'k' | 'v', role: AdaptableLinear['role']): AdaptableLinear => ({
      ...conv1d('attn.c_attn', role, hiddenSize, hiddenSize, slices[part]),
      name: `${transformerPrefix}${module}.attn.c_attn.${part}`
    })
    targets.push(
      fused('q', 'query'),
      fused('k', 'key'),
      fused('v', 'value'),
      conv1d('attn.c_proj', 'attention.output', hiddenSize, hiddenSize),
      conv1d('mlp.c_fc', 'mlp.in', hiddenSize, innerSize),
      conv1d('mlp.c_proj', 'mlp.out', innerSize, hiddenSize)
    )
  }
  return targets
}

/**
 * The family's targets: weight names under the prefix the tensors hold (config.json's sizes checked
 * against them), else the one config.json implies.
 */
export function targetsFromConfig(config: ModelDescription, tensors?: readonly TensorInfo[]): AdaptableLinear[] {
  const settings = gpt2Settings(config)
  if (!tensors) return gpt2Targets(settings, prefixFromConfig(config))
  const prefix = prefixFromTensors(tensors, 'the checkpoint')
  checkGpt2Tensors(config, settings, tensors, prefix)
  return gpt2Targets(settings, prefix)
}

/** PEFT's default target_modules for GPT-2 is c_attn; in SiVA's per-block terms, its query and value. */
export const gpt2QueryAndValue = /\.attn\.c_attn\.[qv]$/
