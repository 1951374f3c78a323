import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The hash scripts/build-wasm.mjs records as SOURCE_SHA256: for each .c and .h file of `dir` in name order,
 * its name, NUL, its contents, NUL. A test compares it to the committed module's, so a C change that was
 * not rebuilt fails.
 */
export function wasmSourceHash(dir: string): string {
  const hash = createHash('sha256')
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.c') || f.endsWith('.h')).sort()) {
    hash.update(name)
    hash.update('\0')
    hash.update(readFileSync(join(dir, name)))
    hash.update('\0')
  }
  return hash.digest('hex')
}
