import type { CachedModels } from '../../shared/api'
import { hubCacheFolder, hubOffline, listCachedModels } from '../engine/io/hubCache'

/** The Model step's "In the Hugging Face cache": every cached model with a snapshot, where the cache is, and whether HF_HUB_OFFLINE is set. */
export async function cachedModels(env: Record<string, string | undefined> = process.env): Promise<CachedModels> {
  const models = await listCachedModels(env)
  return {
    cache: hubCacheFolder(env),
    offline: hubOffline(env),
    models: models.map((m) => ({ id: m.id, sizeBytes: m.sizeBytes, revisions: m.revisions }))
  }
}
