import { sha256 } from '@noble/hashes/sha256'
import { Buffer } from './buffer'

/** node:crypto for the GPU host: SHA-256 (run fingerprints, SVD cache keys) and random bytes. */
class Hash {
  private readonly state = sha256.create()
  update(data: string | Uint8Array): this {
    this.state.update(typeof data === 'string' ? new TextEncoder().encode(data) : data)
    return this
  }
  digest(encoding?: string): Buffer | string {
    const digest = this.state.digest()
    const bytes = new Buffer(digest.byteLength)
    bytes.set(digest)
    return encoding === undefined ? bytes : bytes.toString(encoding)
  }
}

export function createHash(algorithm: string): Hash {
  if (algorithm !== 'sha256') throw new Error(`createHash: ${algorithm} is not available in the GPU host (only sha256)`)
  return new Hash()
}

export function randomBytes(size: number): Buffer {
  const bytes = new Buffer(size)
  crypto.getRandomValues(bytes)
  return bytes
}

export function randomUUID(): string {
  return crypto.randomUUID()
}

export default { createHash, randomBytes, randomUUID }
