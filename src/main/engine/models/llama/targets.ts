import type { ModelDescription, TensorInfo } from '../../io'
import type { AdaptableLinear } from '../types'
import { checkDecoderTensors, decoderPrefix, decoderSettings, type DecoderSettings } from './settings'

/**
 * Where a Llama-style decoder's weights live. *ForCausalLM and *ForSequenceClassification keep the decoder
 * under `model.` (`model.layers.0.self_attn.q_proj.weight`); a bare LlamaModel / MistralModel / Qwen2Model
 * saves it without the prefix. As for the other families, target *names* always carry the prefix (module
 * names of the model with its head: what PEFT's target_modules and vLLM match), only the tensor names follow
 * the checkpoint.
 */
const bareArchitectures = new Set(['LlamaModel', 'MistralModel', 'Qwen2Model'])

export function prefixFromConfig(config: ModelDescription): string {
  const architectures = config.architectures ?? []
  return architectures.length > 0 && architectures.every((name) => bareArchitectures.has(name)) ? '' : decoderPrefix
}

/** From the tensor list, which is what counts: the prefix under which the token embeddings are found. */
export function prefixFromTensors(tensors: readonly TensorInfo[], source: string): string {
  const names = new Set(tensors.map((t) => t.name))
  if (names.has(`${decoderPrefix}embed_tokens.weight`)) return decoderPrefix
  if (names.has('embed_tokens.weight')) return ''
  throw new Error(`${source}: no tensor ${decoderPrefix}embed_tokens.weight (nor embed_tokens.weight, as a bare decoder saves it): not a Llama, Mistral or Qwen2 checkpoint`)
}

/** The seven projections of a decoder layer, PEFT's names, in the order transformers runs them. */
export const decoderProjections = [
  { path: 'self_attn.q_proj', role: 'query' },
  { path: 'self_attn.k_proj', role: 'key' },
  { path: 'self_attn.v_proj', role: 'value' },
  { path: 'self_attn.o_proj', role: 'attention.output' },
  { path: 'mlp.gate_proj', role: 'mlp.in' },
  { path: 'mlp.up_proj', role: 'mlp.in' },
  { path: 'mlp.down_proj', role: 'mlp.out' }
] as const satisfies readonly { path: string; role: AdaptableLinear['role'] }[]

/** Every layer's projections in nn.Linear terms ([out, in]), with their biases where the settings give them. */
export function decoderTargets(settings: DecoderSettings, prefix: string): AdaptableLinear[] {
  const { hiddenSize, numHeads, numKvHeads, headDim, intermediateSize, bias } = settings
  const shape: Record<(typeof decoderProjections)[number]['path'], [number, number, boolean]> = {
    'self_attn.q_proj': [numHeads * headDim, hiddenSize, bias.query],
    'self_attn.k_proj': [numKvHeads * headDim, hiddenSize, bias.key],
    'self_attn.v_proj': [numKvHeads * headDim, hiddenSize, bias.value],
    'self_attn.o_proj': [hiddenSize, numHeads * headDim, bias.output],
    'mlp.gate_proj': [intermediateSize, hiddenSize, bias.mlp],
    'mlp.up_proj': [intermediateSize, hiddenSize, bias.mlp],
    'mlp.down_proj': [hiddenSize, intermediateSize, bias.mlp]
  }
  const targets: AdaptableLinear[] = []
  for (let block = 0; block < settings.numLayers; block++) {
    for (const { path, role } of decoderProjections) {
      const [outFeatures, inFeatures, hasBias] = shape[path]
      const module = `layers.${block}.${path}`
      const target: AdaptableLinear = { name: `${decoderPrefix}${module}`, weightTensor: `${prefix}${module}.weight`, conv1d: false, outFeatures, inFeatures, block, role }
      if (hasBias) target.biasTensor = `${prefix}${module}.bias`
      targets.push(target)
    }
  }
  return targets
}

/** The family's targets: weight names under the prefix the tensors hold (config.json's sizes checked against them), else the one config.json implies. */
export function targetsFromConfig(config: ModelDescription, tensors?: readonly TensorInfo[]): AdaptableLinear[] {
  const settings = decoderSettings(config)
  if (!tensors) return decoderTargets(settings, prefixFromConfig(config))
  const prefix = prefixFromTensors(tensors, 'the checkpoint')
  checkDecoderTensors(config, settings, tensors, prefix)
  return decoderTargets(settings, prefix)
}

/** PEFT 0.12's LoRA default for llama, mistral and qwen2 (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING): q_proj and v_proj. */
export const decoderQueryAndValue = /\.self_attn\.(q_proj|v_proj)$/
