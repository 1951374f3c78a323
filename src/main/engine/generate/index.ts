export { cachedAttention, disposeCache, extendCache, isCachedDecoder, type CachedAttentionOptions, type CachedDecoder, type CachedStep, type KvCache } from './kvCache'
export { generateGreedy, generateGreedyIds, type Generation, type GreedyOptions, type GreedyResult, type StopReason } from './greedy'
export { stopIdsFor } from './stopIds'
export { generatePreview, type PreviewHost, type PreviewRequest, type PreviewResult } from './preview'
