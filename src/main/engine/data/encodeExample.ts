import { readTextExamples, type ExampleReadOptions, type TextExample, type TextTask } from './examples'
import { place } from './problems'
import { EncodeRequestError, type EncodedText, type EncodeRequest, type TextTokenizer } from './tokenizer'

/** One example as token ids, cut to the model's limit. */
export interface EncodedExample {
  ids: number[]
  /** Segment ids (0 first sentence, 1 the pair); all 0 for single texts and causal LM. */
  typeIds: number[]
  /** Causal LM: how many leading ids are prompt (no loss on them); 0 otherwise. */
  promptLength: number
  /** Ids before truncation: what validation reports as too long. */
  fullLength: number
  /** Only the start of a text was tokenised (it was far over maxLength): `fullLength` is a lower bound. */
  partial: boolean
}

/**
 * Token ids as the model will see them.
 *
 * Classification and regression: the checkpoint's own special tokens and pair template, truncated longest
 * first. Causal LM: prompt ids, then completion ids, then end-of-text so the model learns to stop; prompt
 * and completion are tokenised separately so the loss boundary falls between tokens (a completion usually
 * starts with a space, as GPT-2's BPE expects). Truncation keeps the start.
 */
export function encodeExample(tokenizer: TextTokenizer, task: TextTask, example: TextExample, maxLength: number): EncodedExample {
  if (task !== 'causal-lm') return classifierExample(tokenizer.encode(example.text, textRequest(example, maxLength)))
  // Each part is tokenised only as far as max_length can use it (see TextTokenizer.encode): the kept ids are
  // the same, and a cut part's length is a lower bound that still makes the example too long.
  const promptEncoded = hasPrompt(example) ? tokenizer.encode(example.prompt!, promptRequest(maxLength)) : undefined
  const completionEncoded = tokenizer.encode(example.text, completionRequest(maxLength, promptEncoded))
  return causalExample(tokenizer, promptEncoded, completionEncoded, maxLength)
}

/** An example's text could not be tokenised; `row` is its row in the file, named in the message with the file when known. */
export class ExampleEncodeError extends Error {
  override name = 'ExampleEncodeError'
  constructor(
    readonly row: number,
    readonly reason: string,
    options?: ErrorOptions & { file?: string }
  ) {
    super(`${options?.file === undefined ? `row ${row}` : place(options.file, row)}: the text cannot be tokenised: ${reason}`, options)
  }
}

/**
 * encodeExample for many examples at once, with the same results: through TextTokenizer.encodeMany, so that
 * the native engine gets them as batches (causal LM: the prompts, then the completions, which depend on
 * them). A text that cannot be tokenised throws an ExampleEncodeError naming its row.
 */
export async function encodeExamples(tokenizer: TextTokenizer, task: TextTask, examples: readonly TextExample[], maxLength: number): Promise<EncodedExample[]> {
  const many = async (requests: EncodeRequest[], owners: readonly TextExample[]): Promise<EncodedText[]> => {
    try {
      return await tokenizer.encodeMany(requests)
    } catch (error) {
      if (error instanceof EncodeRequestError) throw new ExampleEncodeError(owners[error.index]!.row, error.reason, { cause: error })
      throw error
    }
  }
  if (task !== 'causal-lm') {
    const encoded = await many(examples.map((example) => ({ text: example.text, ...textRequest(example, maxLength) })), examples)
    return encoded.map(classifierExample)
  }
  const prompted = examples.filter(hasPrompt)
  const prompts = await many(prompted.map((example) => ({ text: example.prompt!, ...promptRequest(maxLength) })), prompted)
  const promptOf = new Map(prompted.map((example, i) => [example, prompts[i]!]))
  const completions = await many(examples.map((example) => ({ text: example.text, ...completionRequest(maxLength, promptOf.get(example)) })), examples)
  return examples.map((example, i) => causalExample(tokenizer, promptOf.get(example), completions[i]!, maxLength))
}

const hasPrompt = (example: TextExample): boolean => example.prompt !== undefined && example.prompt !== ''
const textRequest = (example: TextExample, maxLength: number) => ({ ...(example.pair !== undefined && { pair: example.pair }), maxLength })
const promptRequest = (maxLength: number) => ({ addSpecialTokens: false, maxLength })
const completionRequest = (maxLength: number, prompt: EncodedText | undefined) => ({ addSpecialTokens: false, maxLength: Math.max(0, maxLength - (prompt?.ids.length ?? 0)) })

function classifierExample(encoded: EncodedText): EncodedExample {
  return { ids: encoded.ids, typeIds: encoded.tokenTypeIds, promptLength: 0, fullLength: encoded.fullLength, partial: encoded.partial }
}

function causalExample(tokenizer: TextTokenizer, promptEncoded: EncodedText | undefined, completionEncoded: EncodedText, maxLength: number): EncodedExample {
  const prompt = promptEncoded?.ids ?? []
  const completion = completionEncoded.ids
  const eos = tokenizer.eosId === undefined ? 0 : 1
  const fullLength = (promptEncoded?.fullLength ?? 0) + completionEncoded.fullLength + eos
  const ids = tokenizer.eosId === undefined ? [...prompt, ...completion] : [...prompt, ...completion, tokenizer.eosId]
  const kept = fullLength > maxLength ? ids.slice(0, maxLength) : ids
  const partial = (promptEncoded?.partial ?? false) || completionEncoded.partial
  return { ids: kept, typeIds: new Array<number>(kept.length).fill(0), promptLength: Math.min(prompt.length, kept.length), fullLength, partial }
}

/** One of the first examples of a file, as `siva data check` and the app's Data step show it. */
export interface PreviewExample {
  row: number
  text: string
  textPair?: string
  prompt?: string
  label?: string | number
  /** Where a text was cut for the preview (over `previewCharacters`): its whole length in characters (UTF-16 units). */
  textLength?: number
  textPairLength?: number
  promptLength?: number
  /** With a tokenizer: ids before truncation, and the first 16 ids. */
  tokens?: number
  ids?: number[]
}

/** How much of each text a preview carries: enough to recognise a row; a row of megabytes stays in the file. */
export const previewCharacters = 2000

/** The start of `text` for a preview, never splitting a surrogate pair; `undefined` when it is whole. */
function previewCut(text: string): string | undefined {
  if (text.length <= previewCharacters) return undefined
  const high = text.charCodeAt(previewCharacters - 1)
  const end = high >= 0xd800 && high <= 0xdbff ? previewCharacters + 1 : previewCharacters
  return `${text.slice(0, end)}…`
}

/** The first `count` usable examples of a file, read the way training reads them (problems are the validator's to report). */
export async function previewTextExamples(
  file: string,
  options: { task: TextTask; columns?: ExampleReadOptions['columns']; paragraphs?: boolean; maxLength: number; tokenizer?: TextTokenizer },
  count: number
): Promise<PreviewExample[]> {
  const rows: PreviewExample[] = []
  if (count <= 0) return rows
  for await (const example of readTextExamples(file, { task: options.task, ...(options.columns && { columns: options.columns }), ...(options.paragraphs !== undefined && { paragraphs: options.paragraphs }), onProblem: () => {} })) {
    const row: PreviewExample = { row: example.row, text: previewCut(example.text) ?? example.text }
    if (row.text !== example.text) row.textLength = example.text.length
    if (example.pair !== undefined) {
      row.textPair = previewCut(example.pair) ?? example.pair
      if (row.textPair !== example.pair) row.textPairLength = example.pair.length
    }
    if (example.prompt !== undefined) {
      row.prompt = previewCut(example.prompt) ?? example.prompt
      if (row.prompt !== example.prompt) row.promptLength = example.prompt.length
    }
    const label = example.label ?? example.target
    if (label !== undefined) row.label = label
    if (options.tokenizer) {
      const encoded = encodeExample(options.tokenizer, options.task, example, options.maxLength)
      row.tokens = encoded.fullLength
      row.ids = encoded.ids.slice(0, 16)
    }
    rows.push(row)
    if (rows.length === count) break
  }
  return rows
}
