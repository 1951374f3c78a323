import { createHash } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { describeSystemError } from '../io/errors'
import { openRegularFile } from '../io/regularFile'

/** What a run was trained on, so a resumed run can tell the data changed under it. */
export interface DataFingerprint {
  path: string
  bytes: number
  /** sha256 of the file; for a folder, of each file's relative path and content in name order. */
  sha256: string
  files: number
}

/** Hash a data file or folder, streaming (a large file is never held in memory). */
export async function fingerprintData(path: string): Promise<DataFingerprint> {
  const hash = createHash('sha256')
  const info = await stat(path)
  if (!info.isDirectory()) {
    await hashFile(path, hash)
    return { path, bytes: info.size, sha256: hash.digest('hex'), files: 1 }
  }
  let bytes = 0
  let files = 0
  for (const file of await listFiles(path)) {
    hash.update(`${relative(path, file)}\0`)
    await hashFile(file, hash)
    bytes += (await stat(file)).size
    files++
  }
  return { path, bytes, sha256: hash.digest('hex'), files }
}

async function hashFile(file: string, hash: ReturnType<typeof createHash>): Promise<void> {
  // A regular file only: a FIFO would be waited on forever, a device never ends.
  const { handle } = await openRegularFile(file).catch((error: unknown) => {
    throw new Error(`${file}: ${describeSystemError(error)}`, { cause: error })
  })
  for await (const chunk of handle.createReadStream() as AsyncIterable<Buffer>) hash.update(chunk)
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue
    const full = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await listFiles(full)))
    else if (entry.isFile()) out.push(full)
  }
  return out
}
