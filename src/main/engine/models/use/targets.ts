import { useTensors, type ModelDescription, type TensorInfo } from '../../io'
import type { AdaptableLinear } from '../types'

export interface UseSettings {
  numLayers: number
  /** Each layer's input width: the embedding width (256) for the first, the model width (512) after. */
  inputWidths: number[]
  /** Each layer's attention width (query/key/value size; the same as its input width). */
  attentionWidths: number[]
  hiddenSize: number
  intermediateSize: number
  numHeads: number
  vocabRows: number
  maxPositions: number
  layerNormEps: number
}

/** Layer widths read off the tensors themselves (the graph carries no config). */
export function useSettings(tensors: readonly TensorInfo[], config?: ModelDescription): UseSettings {
  const shapes = new Map(tensors.map((t) => [t.name, t.shape]))
  const need = (name: string): number[] => {
    const shape = shapes.get(name)
    if (!shape) throw new Error(`no tensor ${name}: not a Universal Sentence Encoder lite graph`)
    return shape
  }
  const inputWidths: number[] = []
  const attentionWidths: number[] = []
  let numLayers = 0
  while (shapes.has(useTensors.qkvKernel(numLayers))) {
    const [, , inWidth, fused] = need(useTensors.qkvKernel(numLayers))
    inputWidths.push(inWidth!)
    attentionWidths.push(fused! / 3)
    numLayers++
  }
  if (numLayers === 0) need(useTensors.qkvKernel(0))
  const [vocabRows] = need(useTensors.embeddings)
  const hiddenSize = need(useTensors.outputKernel(0))[3]!
  const intermediateSize = need(useTensors.ffnKernel(0, 1))[1]!
  return {
    numLayers,
    inputWidths,
    attentionWidths,
    hiddenSize,
    intermediateSize,
    numHeads: config?.numHeads ?? 4,
    vocabRows: vocabRows!,
    maxPositions: config?.maxPositions ?? 128,
    layerNormEps: config?.layerNormEps ?? 1e-6
  }
}

/**
 * The projections methods may adapt, named the way PEFT names modules (dots, one name per matrix):
 * `encoder.layer.0.attention.qkv.q|k|v` cut out of the fused kernel, `….attention.output`,
 * `….ffn.conv1`, `….ffn.conv2`. Kernels are stored [in, out] (conv1d orientation); the leading 1×1 of the
 * attention kernels is dropped.
 */
export function useTargets(settings: UseSettings): AdaptableLinear[] {
  const targets: AdaptableLinear[] = []
  for (let block = 0; block < settings.numLayers; block++) {
    const width = settings.attentionWidths[block]!
    const inWidth = settings.inputWidths[block]!
    const module = `encoder.layer.${block}`
    const linear = (name: string, role: AdaptableLinear['role'], weightTensor: string, biasTensor: string, inFeatures: number, outFeatures: number, slice?: [number, number]): AdaptableLinear => ({
      name: `${module}.${name}`,
      weightTensor,
      biasTensor,
      conv1d: true,
      ...(slice && { slice }),
      inFeatures,
      outFeatures,
      block,
      role
    })
    const qkv = (part: 'q' | 'k' | 'v', index: number, role: AdaptableLinear['role']): AdaptableLinear =>
      linear(`attention.qkv.${part}`, role, useTensors.qkvKernel(block), useTensors.qkvBias(block), inWidth, width, [index * width, (index + 1) * width])
    targets.push(
      qkv('q', 0, 'query'),
      qkv('k', 1, 'key'),
      qkv('v', 2, 'value'),
      linear('attention.output', 'attention.output', useTensors.outputKernel(block), useTensors.outputBias(block), width, settings.hiddenSize),
      linear('ffn.conv1', 'mlp.in', useTensors.ffnKernel(block, 1), useTensors.ffnBias(block, 1), settings.hiddenSize, settings.intermediateSize),
      linear('ffn.conv2', 'mlp.out', useTensors.ffnKernel(block, 2), useTensors.ffnBias(block, 2), settings.intermediateSize, settings.hiddenSize)
    )
  }
  return targets
}

/** As PEFT does for attention models: query and value. */
export const useQueryAndValue = /\.attention\.qkv\.[qv]$/
