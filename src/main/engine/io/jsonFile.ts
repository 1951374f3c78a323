import { writeFile } from 'node:fs/promises'
import { writeFileAtomically } from './atomicWrite'
import { CheckpointFormatError, describeSystemError } from './errors'
import { readRegularTextFile } from './regularFile'

export type JsonObject = Record<string, unknown>

/** A JSON object: not null, not an array. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The largest JSON file read whole. Configs, indexes and manifests take kilobytes (a graph model.json a
 * few megabytes); parsing a file near V8's string limit would take gigabytes before failing anyway.
 */
export const maxJsonBytes = 256 * 2 ** 20

/**
 * The JSON object a checkpoint file holds (config.json, model.json, the shard index). Every failure is
 * a CheckpointFormatError naming the file; with `optional`, a missing file is undefined instead. A path
 * that is not a regular file (a FIFO would block the read forever) or is over maxJsonBytes is refused.
 */
export async function readJsonObject(file: string, options: { optional: true }): Promise<JsonObject | undefined>
export async function readJsonObject(file: string, options?: { optional?: false }): Promise<JsonObject>
export async function readJsonObject(file: string, options: { optional?: boolean } = {}): Promise<JsonObject | undefined> {
  let text: string
  try {
    text = await readRegularTextFile(file, maxJsonBytes)
  } catch (error) {
    if (options.optional && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new CheckpointFormatError(file, `cannot read: ${describeSystemError(error)}`, { cause: error })
  }
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    throw new CheckpointFormatError(file, `is not valid JSON (${error instanceof Error ? error.message : String(error)})`, { cause: error })
  }
  if (!isJsonObject(document)) throw new CheckpointFormatError(file, 'must hold a JSON object')
  return document
}

/** Write `value` as indented JSON (with a final newline) through a temp file renamed into place: never half-written. */
export async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  const text = `${JSON.stringify(value, null, 2)}\n`
  await writeFileAtomically(file, (handle) => writeFile(handle, text))
}
