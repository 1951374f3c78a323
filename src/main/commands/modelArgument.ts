import { resolveModelLocation, type ModelLocation } from '../engine/io/hubCache'

/**
 * A model argument of any `siva` command (inspect PATH, train --model, data check --model, export --base):
 * a folder or file that exists, or a Hugging Face Hub id (`org/name`, `name`, with `@revision`) resolved in
 * the local Hugging Face cache to its snapshot folder. `checkpoint: false` when only the tokenizer or the
 * preprocessor is read (data check), so a snapshot without weights still serves.
 */
export async function modelArgument(text: string, options: { checkpoint?: boolean } = {}): Promise<ModelLocation> {
  return resolveModelLocation(text, { checkFiles: options.checkpoint ?? true })
}

/** modelArgument's folder (or file), for a command that only needs where to read. */
export async function modelPath(text: string, options: { checkpoint?: boolean } = {}): Promise<string> {
  return (await modelArgument(text, options)).path
}
