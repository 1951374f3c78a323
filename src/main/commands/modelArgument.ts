import { HubCacheError, hubOffline, looksLikePath, parseHubId, resolveModelLocation, type ModelLocation } from '../engine/io/hubCache'
import { HubDownloadError } from '../engine/io/hubDownload'
import { downloadWithProgress } from './download'

/**
 * A model argument of any `siva` command (inspect PATH, train --model, data check --model, export --base):
 * a folder or file that exists, or a Hugging Face Hub id (`org/name`, `name`, with `@revision`) resolved in
 * the local Hugging Face cache to its snapshot folder. An id not in the cache, or whose snapshot lacks files,
 * is downloaded first (progress on stderr, Ctrl-C cancels and keeps what arrived) unless HF_HUB_OFFLINE is set,
 * which keeps the cache-only error. `checkpoint: false` when only the tokenizer or the preprocessor is read
 * (data check), so a snapshot without weights still serves and no weights are fetched for it.
 */
export async function modelArgument(text: string, options: { checkpoint?: boolean; quiet?: boolean } = {}): Promise<ModelLocation> {
  const checkpoint = options.checkpoint ?? true
  try {
    return await resolveModelLocation(text, { checkFiles: checkpoint })
  } catch (error) {
    const reference = looksLikePath(text) ? undefined : parseHubId(text)
    if (!(error instanceof HubCacheError) || reference === undefined || hubOffline()) throw error
    try {
      await downloadWithProgress(reference, { quiet: options.quiet, command: 'siva: downloading', weights: checkpoint })
    } catch (failure) {
      if (!(failure instanceof HubDownloadError)) throw failure
      // What the cache lacks (and, for `gpt2` or `org/name`, that no such folder exists either), without its hint to download.
      const missing = error.message.replace(/; download it with '.*$/, '')
      throw new HubDownloadError(failure.code, `${missing}; downloading it failed: ${failure.message}`)
    }
    return resolveModelLocation(text, { checkFiles: checkpoint })
  }
}

/** modelArgument's folder (or file), for a command that only needs where to read. */
export async function modelPath(text: string, options: { checkpoint?: boolean; quiet?: boolean } = {}): Promise<string> {
  return (await modelArgument(text, options)).path
}
