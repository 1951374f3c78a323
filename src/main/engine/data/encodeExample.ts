import { ChatRenderError, ChatTemplateError, type RenderedChat } from './chatTemplate'
import { chatTokenSteps, runChatTokenSteps, type ChatTokens, type ChatTokenSteps } from './chatTokens'
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
  /**
   * Chat data: the [start, end) id ranges with loss (assistant turns through their end-of-turn token), in
   * order; `promptLength` is then the first one's start. Absent for every other example, whose loss is
   * everything after `promptLength`.
   */
  lossSpans?: [number, number][]
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
  if (example.messages) {
    const rendered = renderedChat(tokenizer, example)
    return chatEncoded(runChatTokenSteps(chatTokenSteps(rendered, maxLength), (request) => tokenizer.encode(request.text, request)))
  }
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
  const chats = examples.filter((example) => example.messages !== undefined)
  const plain = chats.length === 0 ? examples : examples.filter((example) => example.messages === undefined)
  const prompted = plain.filter(hasPrompt)
  const prompts = await many(prompted.map((example) => ({ text: example.prompt!, ...promptRequest(maxLength) })), prompted)
  const promptOf = new Map(prompted.map((example, i) => [example, prompts[i]!]))
  const completions = await many(plain.map((example) => ({ text: example.text, ...completionRequest(maxLength, promptOf.get(example)) })), plain)
  const encoded = new Map(plain.map((example, i) => [example, causalExample(tokenizer, promptOf.get(example), completions[i]!, maxLength)]))
  if (chats.length > 0) {
    const tokens = await chatTokensMany(chats, maxLength, tokenizer, many)
    chats.forEach((example, i) => encoded.set(example, chatEncoded(tokens[i]!)))
  }
  return examples.map((example) => encoded.get(example)!)
}

/**
 * Every conversation's ChatTokens, their tokenizer requests sent together round by round (the whole
 * renderings and their pieces, then the prefixes of the few whose pieces disagree) so that the native
 * engine gets them as batches.
 */
async function chatTokensMany(
  chats: readonly TextExample[],
  maxLength: number,
  tokenizer: TextTokenizer,
  many: (requests: EncodeRequest[], owners: readonly TextExample[]) => Promise<EncodedText[]>
): Promise<ChatTokens[]> {
  const results = new Array<ChatTokens>(chats.length)
  let active: { index: number; steps: ChatTokenSteps; asks: EncodeRequest[] }[] = []
  const advance = (index: number, steps: ChatTokenSteps, answer?: EncodedText[]): void => {
    const next = answer === undefined ? steps.next() : steps.next(answer)
    if (next.done) results[index] = next.value
    else active.push({ index, steps, asks: next.value })
  }
  chats.forEach((example, index) => advance(index, chatTokenSteps(renderedChat(tokenizer, example), maxLength)))
  while (active.length > 0) {
    const round = active
    active = []
    const owners = round.flatMap((item) => item.asks.map(() => chats[item.index]!))
    const answers = await many(round.flatMap((item) => item.asks), owners)
    let at = 0
    for (const item of round) {
      advance(item.index, item.steps, answers.slice(at, at + item.asks.length))
      at += item.asks.length
    }
  }
  return results
}

/** A chat example's rendering: the reader's, or rendered here with the tokenizer's template (a failure names the row). */
function renderedChat(tokenizer: TextTokenizer, example: TextExample): RenderedChat {
  if (example.chatSpans) return { text: example.text, spans: example.chatSpans }
  try {
    return tokenizer.chatTemplate().renderForTraining(example.messages!)
  } catch (error) {
    if (error instanceof ChatRenderError || error instanceof ChatTemplateError) throw new ExampleEncodeError(example.row, error.message, { cause: error })
    throw error
  }
}

function chatEncoded(tokens: ChatTokens): EncodedExample {
  const { ids, lossSpans } = tokens
  return { ids, typeIds: new Array<number>(ids.length).fill(0), promptLength: lossSpans[0]?.[0] ?? ids.length, fullLength: tokens.fullLength, partial: tokens.partial, lossSpans }
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
  /** Chat data: how many messages the conversation has. */
  messages?: number
  /**
   * Chat data rendered with the checkpoint's template (`text` is the rendering): the [start, end) character
   * ranges of `text` that get loss (assistant turns through their end-of-turn token), cut with the text.
   */
  assistantSpans?: [number, number][]
  /** Chat data with a tokenizer: the ids with loss, after the token limit. */
  trainedTokens?: number
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
  options: { task: TextTask; columns?: ExampleReadOptions['columns']; paragraphs?: boolean; maxLength: number; tokenizer?: TextTokenizer; chatTemplate?: ExampleReadOptions['chatTemplate'] },
  count: number
): Promise<PreviewExample[]> {
  const rows: PreviewExample[] = []
  if (count <= 0) return rows
  const tokenizer = options.tokenizer
  const chatTemplate = options.chatTemplate ?? (tokenizer && (() => tokenizer.chatTemplate()))
  for await (const example of readTextExamples(file, { task: options.task, ...(options.columns && { columns: options.columns }), ...(options.paragraphs !== undefined && { paragraphs: options.paragraphs }), ...(chatTemplate && { chatTemplate }), onProblem: () => {} })) {
    const row: PreviewExample = { row: example.row, text: previewCut(example.text) ?? example.text }
    if (row.text !== example.text) row.textLength = example.text.length
    if (example.messages) row.messages = example.messages.length
    if (example.chatSpans) {
      const shown = row.text.length - (row.textLength === undefined ? 0 : 1)
      row.assistantSpans = example.chatSpans.filter(([start]) => start < shown).map(([start, end]) => [start, Math.min(end, shown)])
    }
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
    // A conversation without a rendering (the checkpoint has no template) cannot be tokenised as training would.
    if (tokenizer && !(example.messages && !example.chatSpans)) {
      const encoded = encodeExample(tokenizer, options.task, example, options.maxLength)
      row.tokens = encoded.fullLength
      row.ids = encoded.ids.slice(0, 16)
      if (encoded.lossSpans) row.trainedTokens = encoded.lossSpans.reduce((sum, [start, end]) => sum + end - start, 0)
    }
    rows.push(row)
    if (rows.length === count) break
  }
  return rows
}
