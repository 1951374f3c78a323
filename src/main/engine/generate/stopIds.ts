import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { checkpointFolder } from '../data/checkpointFolder'
import type { TextTokenizer } from '../data/tokenizer'

/**
 * Where a continuation ends: the tokenizer's eos, the eos_token_id of the checkpoint's generation_config.json
 * (a number or a list: Llama 3 lists <|eot_id|> there), and the end-of-turn markers of the chat formats, for
 * an instruction-tuned model that ends its answer with one rather than with eos. A marker counts only where
 * the tokenizer reads it as one token (an added token), so a base GPT-2, whose BPE splits "<|im_end|>" into
 * pieces, is not stopped by the text.
 */
const endOfTurnMarkers = ['<|im_end|>', '<|eot_id|>', '<|end|>', '<end_of_turn>', '<|endoftext|>']

export async function stopIdsFor(tokenizer: TextTokenizer, checkpoint: string): Promise<number[]> {
  const ids = new Set<number>()
  if (tokenizer.eosId !== undefined) ids.add(tokenizer.eosId)
  for (const id of await generationConfigEos(checkpoint)) ids.add(id)
  for (const marker of endOfTurnMarkers) {
    const encoded = tokenizer.encode(marker, { addSpecialTokens: false }).ids
    if (encoded.length === 1 && tokenizer.decode(encoded) === '') ids.add(encoded[0]!)
  }
  return [...ids].sort((a, b) => a - b)
}

/** generation_config.json's eos_token_id; none when the file is absent. A file that is there but wrong is named. */
async function generationConfigEos(checkpoint: string): Promise<number[]> {
  const file = join(await checkpointFolder(checkpoint), 'generation_config.json')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`, { cause: error })
  }
  const eos = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['eos_token_id'] : undefined
  if (eos === undefined || eos === null) return []
  const list = Array.isArray(eos) ? eos : [eos]
  if (!list.every((id) => Number.isInteger(id) && (id as number) >= 0)) throw new Error(`${file}: eos_token_id must be a token id or a list of them, got ${JSON.stringify(eos)}`)
  return list as number[]
}
