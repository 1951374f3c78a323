import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { checkpointFolder } from './checkpointFolder'
import type { TextTokenizer } from './tokenizer'

/** Text is never fed longer than this unless a limit is chosen: training's default cap. */
export const defaultTokenCap = 512

/**
 * Where a run's token limit comes from:
 * - `chosen`: set for the run (TrainConfig.maxLength, the Data step's Token limit, `--max-length`);
 * - `tokenizer`: the checkpoint's own limit, at most the cap;
 * - `capped`: the checkpoint allows more than the cap, which applies;
 * - `default`: the checkpoint names no limit, so the cap applies.
 */
export type TokenLimitSource = 'chosen' | 'tokenizer' | 'capped' | 'default'

export interface TokenLimit {
  maxLength: number
  source: TokenLimitSource
  /** The checkpoint's own limit, when it has one. */
  modelMaxLength?: number
  /** Where that limit is written: `model_max_length in tokenizer_config.json`, or the sentence encoder's fixed input length. */
  modelField?: string
  /** One sentence saying where `maxLength` comes from and what training does with longer rows. */
  explanation: string
}

/**
 * The token limit training cuts rows to: the chosen limit, else the tokenizer's model_max_length at most
 * 512. openTrainData (engine/training/trainData.ts), the Data step's check and `siva data check` all take
 * their limit from here, so the rows the check calls too long are exactly the rows training truncates.
 */
export function tokenLimit(chosen: number | undefined, modelMaxLength: number | undefined): number {
  return chosen ?? Math.min(defaultTokenCap, modelMaxLength ?? defaultTokenCap)
}

/**
 * tokenLimit, with where it comes from in words. `model`: the checkpoint the tokenizer was loaded from;
 * `chosenBy`: where a chosen limit was set, as the reader knows it ("in Token limit", "with --max-length").
 */
export async function describeTokenLimit(chosen: number | undefined, tokenizer: TextTokenizer, model: string, chosenBy: string): Promise<TokenLimit> {
  const own = tokenizer.modelMaxLength
  const maxLength = tokenLimit(chosen, own)
  const field = own === undefined ? undefined : (await hasTokenizerJson(model)) ? 'model_max_length in tokenizer_config.json' : "the Universal Sentence Encoder lite's fixed input length"
  const source: TokenLimitSource = chosen !== undefined ? 'chosen' : own === undefined ? 'default' : own > defaultTokenCap ? 'capped' : 'tokenizer'
  const ownLimit = own === undefined ? 'the tokenizer sets no limit (no model_max_length in tokenizer_config.json)' : `the model takes up to ${own} (${field})`
  const cut = `each longer row is cut to its first ${maxLength} tokens`
  const explanation =
    source === 'chosen'
      ? `${maxLength} is the token limit set ${chosenBy}; ${ownLimit}. Training uses the same limit: ${cut}.`
      : source === 'tokenizer'
        ? `${maxLength} is the model's own limit (${field}); training uses it too: ${cut}.`
        : source === 'capped'
          ? `The model takes up to ${own} (${field}), but without a chosen token limit training caps text at ${defaultTokenCap} tokens: ${cut}.`
          : `The tokenizer sets no limit (no model_max_length in tokenizer_config.json), so training uses ${defaultTokenCap} tokens unless a token limit is chosen: ${cut}.`
  return { maxLength, source, ...(own !== undefined && { modelMaxLength: own, modelField: field }), explanation }
}

async function hasTokenizerJson(model: string): Promise<boolean> {
  const dir = await checkpointFolder(model)
  return access(join(dir, 'tokenizer.json')).then(
    () => true,
    () => false
  )
}
