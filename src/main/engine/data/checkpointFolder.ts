import { stat } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * The folder a checkpoint's side files (tokenizer, preprocessor_config.json, config.json) live in. A
 * checkpoint may be named by its folder or by its weights file (model.safetensors, model.json, an index),
 * as `siva inspect` accepts; the side files are beside it.
 */
export async function checkpointFolder(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined)
  return info?.isFile() ? dirname(path) : path
}
