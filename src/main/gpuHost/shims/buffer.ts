/**
 * The slice of Node's Buffer the engine uses (concat, toString of utf8/hex/base64), over Uint8Array:
 * file bytes from the remote file system arrive as these, so `.toString('utf8')` works as in Node.
 */
export class Buffer extends Uint8Array {
  /** Bytes of a string, in UTF-8 (Uint8Array's own `from` keeps its meaning). */
  static fromText(text: string): Buffer {
    const bytes = new TextEncoder().encode(text)
    return new Buffer(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  static alloc(size: number): Buffer {
    return new Buffer(size)
  }

  static allocUnsafe(size: number): Buffer {
    return new Buffer(size)
  }

  static isBuffer(value: unknown): value is Buffer {
    return value instanceof Buffer
  }

  static byteLength(text: string): number {
    return new TextEncoder().encode(text).byteLength
  }

  static concat(parts: readonly Uint8Array[], total?: number): Buffer {
    const length = total ?? parts.reduce((sum, part) => sum + part.length, 0)
    const out = new Buffer(length)
    let at = 0
    for (const part of parts) {
      out.set(part.subarray(0, Math.min(part.length, length - at)), at)
      at += part.length
      if (at >= length) break
    }
    return out
  }

  override toString(encoding = 'utf8'): string {
    switch (encoding) {
      case 'utf8':
      case 'utf-8':
        return new TextDecoder().decode(this)
      case 'hex':
        return Array.from(this, (b) => b.toString(16).padStart(2, '0')).join('')
      case 'base64': {
        let binary = ''
        for (let i = 0; i < this.length; i += 0x8000) binary += String.fromCharCode(...this.subarray(i, i + 0x8000))
        return btoa(binary)
      }
      default:
        throw new Error(`Buffer.toString: encoding ${encoding} is not supported in the GPU host`)
    }
  }

  override subarray(start?: number, end?: number): Buffer {
    const view = super.subarray(start, end)
    return new Buffer(view.buffer, view.byteOffset, view.byteLength)
  }
}

export default { Buffer }
