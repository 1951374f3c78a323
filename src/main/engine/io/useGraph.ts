import type { ModelDescription } from './hfConfig'
import type { TensorInfo } from './tensorSource'

/**
 * Where the Universal Sentence Encoder lite keeps its weights: TF-Hub's frozen graph names them after
 * the TensorFlow scopes they were trained in. Each of its transformer layers ("KonaTransformer") has a
 * fused query|key|value projection (a 1×1 convolution, kernel [1, 1, in, 3·width]), an output projection
 * (the same, [1, 1, width, 512]) and a two-layer ReLU feed-forward ([512, 1536] and [1536, 512]). The
 * first layer works at the embedding width (256) and lifts its residual to 512 with a dense layer.
 */
const encode = 'module_apply_default/Encoder_en/KonaTransformer/Encode'
const kernels = 'module/Encoder_en/KonaTransformer/Encode'

export const useTensors = {
  embeddings: 'module/Embeddings_en',
  timingScales: `${encode}/TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`,
  qkvKernel: (block: number) => `${kernels}/Layer_${block}/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0`,
  qkvBias: (block: number) => `${encode}/Layer_${block}/TransformerLayer/MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`,
  outputKernel: (block: number) => `${kernels}/Layer_${block}/TransformerLayer/MultiheadAttention/output_transform_single/kernel/part_0`,
  outputBias: (block: number) => `${encode}/Layer_${block}/TransformerLayer/MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`,
  ffnKernel: (block: number, conv: 1 | 2) => `${encode}/TransformerStack/Layer_${block}/TransformerLayer/FFN/conv${conv}/Tensordot/Reshape_1`,
  ffnBias: (block: number, conv: 1 | 2) => `${encode}/Layer_${block}/TransformerLayer/FFN/conv${conv}/bias/ConcatPartitions/concat`,
  norm: (block: number, where: 'attention' | 'ffn', part: 'scale' | 'bias') =>
    `${encode}/Layer_${block}/TransformerLayer/${where === 'ffn' ? 'FFN/' : ''}layer_prepostprocess/layer_norm/layer_norm_${part}/ConcatPartitions/concat`,
  residualKernel: (block: number) => `${encode}/Layer_${block}/TransformerLayer/dense/kernel/ConcatPartitions/concat`,
  residualBias: (block: number) => `${encode}/Layer_${block}/TransformerLayer/dense/bias/ConcatPartitions/concat`,
  poolKernel: 'module/Encoder_en/hidden_layers/tanh_layer_0/weights',
  poolBias: 'module/Encoder_en/hidden_layers/tanh_layer_0/bias'
} as const

/**
 * What config.json would say, for a TF-Hub Universal Sentence Encoder lite graph (which has none):
 * recognised by its embedding table and first attention kernel; widths read off the tensors.
 */
export function describeUseGraph(tensors: readonly TensorInfo[]): ModelDescription | undefined {
  const shapes = new Map(tensors.map((t) => [t.name, t.shape]))
  const embeddings = shapes.get(useTensors.embeddings)
  const output = shapes.get(useTensors.outputKernel(0))
  const ffn = shapes.get(useTensors.ffnKernel(0, 1))
  if (!embeddings || !output || !ffn || !shapes.has(useTensors.qkvKernel(0))) return undefined
  let numLayers = 0
  while (shapes.has(useTensors.qkvKernel(numLayers))) numLayers++
  return {
    modelType: 'use-lite',
    architectures: ['UniversalSentenceEncoderLite'],
    hiddenSize: output[3]!,
    numLayers,
    numHeads: 4,
    intermediateSize: ffn[1]!,
    vocabSize: embeddings[0]!,
    maxPositions: 128,
    layerNormEps: 1e-6,
    activation: 'relu',
    tieWordEmbeddings: false,
    raw: {}
  }
}
