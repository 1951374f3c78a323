import { basename } from 'node:path'
import { Template } from '@huggingface/jinja'
import { isJsonObject, type JsonObject } from '../io/jsonFile'
import type { ChatMessage } from './chatMessages'

/**
 * A checkpoint's chat template cannot be used: it has none, or it does not parse. The message names
 * tokenizer_config.json, where the template lives, so the user knows which file to fix.
 */
export class ChatTemplateError extends Error {
  override name = 'ChatTemplateError'
  constructor(
    readonly file: string,
    reason: string,
    options?: ErrorOptions
  ) {
    super(`${file}: ${reason}`, options)
  }
}

/** One conversation could not be rendered: the template raised (raise_exception) or failed on it. */
export class ChatRenderError extends Error {
  override name = 'ChatRenderError'
  constructor(
    readonly reason: string,
    readonly kind: 'refused' | 'not-prefix',
    options?: ErrorOptions
  ) {
    super(reason, options)
  }
}

/**
 * A conversation rendered for training: the text the model reads, and the character ranges it is taught
 * to write (each assistant turn, from its first character through the template's end-of-turn token).
 */
export interface RenderedChat {
  text: string
  /** [start, end) in UTF-16 units of `text`, in order, not overlapping. */
  spans: [number, number][]
}

/** What TextTokenizer.load reads for the template: tokenizer_config.json and the special tokens as text. */
export interface ChatTemplateSource {
  /** tokenizer_config.json, named in every message. */
  file: string
  config: JsonObject
  /** The special-token variables transformers passes (its `special_tokens_map`): bos_token, eos_token, … as text. */
  variables: Record<string, string | string[]>
  /** The text of every added token marked special: the end-of-turn markers are among them. */
  specialTokens: string[]
}

/**
 * The template text transformers would use with no `chat_template` argument and no tools: a string, or,
 * from a list of {name, template}, the one named "default" (PreTrainedTokenizerBase.get_chat_template).
 */
function templateText(source: ChatTemplateSource): string {
  const value = source.config['chat_template']
  if (value === undefined || value === null) {
    throw new ChatTemplateError(source.file, 'the checkpoint has no "chat_template", so conversations (a "messages" column) cannot be rendered as this model expects; use a chat (instruct) checkpoint, or add the template it was trained with to tokenizer_config.json')
  }
  if (typeof value === 'string') return value
  if (Array.isArray(value)) {
    const named = value.filter((entry): entry is JsonObject => isJsonObject(entry) && typeof entry['name'] === 'string' && typeof entry['template'] === 'string')
    const fallback = named.find((entry) => entry['name'] === 'default')
    if (fallback) return fallback['template'] as string
    const names = named.map((entry) => JSON.stringify(entry['name'])).join(', ')
    throw new ChatTemplateError(source.file, `"chat_template" is a list of templates (${names || 'none with a name and a template'}) with none named "default", the one transformers uses`)
  }
  throw new ChatTemplateError(source.file, `"chat_template" should be text or a list of {name, template}, found ${typeof value}`)
}

/**
 * transformers' `{% generation %}…{% endgeneration %}` marks what return_assistant_tokens_mask counts; it
 * renders its body unchanged, and @huggingface/jinja does not know the tag, so it is dropped before parsing.
 * (The loss spans here are found by rendering prefixes instead, which works for every template.)
 */
const generationTag = /\{%-?\s*(?:end)?generation\s*-?%\}/g

/**
 * A checkpoint's chat template, rendered by @huggingface/jinja (the engine transformers.js uses) with the
 * variables transformers' apply_chat_template passes: `messages`, `add_generation_prompt`, `tools` and
 * `documents` (None), the special tokens as text (only those the checkpoint sets, as its
 * special_tokens_map has them) and `raise_exception` (the library's own global).
 */
export class ChatTemplate {
  private constructor(
    private readonly template: Template,
    private readonly variables: Record<string, string | string[]>,
    private readonly specialTokens: readonly string[],
    readonly file: string
  ) {}

  /** Parses the template; throws ChatTemplateError naming tokenizer_config.json when there is none or it does not parse. */
  static fromSource(source: ChatTemplateSource): ChatTemplate {
    const text = templateText(source)
    let template: Template
    try {
      template = new Template(text.replace(generationTag, ''))
    } catch (error) {
      throw new ChatTemplateError(source.file, `"chat_template" does not parse as a Jinja template: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
    // Longest first: a special token that contains another (rare) is found whole.
    const specials = [...new Set(source.specialTokens.filter((token) => token !== ''))].sort((a, b) => b.length - a.length)
    return new ChatTemplate(template, source.variables, specials, source.file)
  }

  /** apply_chat_template(messages, tokenize=False, add_generation_prompt=…); throws ChatRenderError with the template's reason. */
  render(messages: readonly ChatMessage[], addGenerationPrompt = false): string {
    try {
      return this.template.render({ ...this.variables, messages, tools: null, documents: null, add_generation_prompt: addGenerationPrompt })
    } catch (error) {
      throw new ChatRenderError(`the chat template in ${basename(this.file)} refused the conversation: ${error instanceof Error ? error.message : String(error)}`, 'refused', { cause: error })
    }
  }

  /**
   * The conversation and the character spans of its assistant turns, found by rendering prefixes: the
   * messages before assistant turn i with the generation prompt end where the turn's text starts, and the
   * messages through turn i end after it. Each span runs from that start through the last special token
   * the template writes for the turn (its end-of-turn marker, `<|im_end|>`, `<|eot_id|>`, `</s>`), so the
   * model learns to stop, as TRL's assistant-only loss does; what the template puts after that marker (a
   * newline before the next turn) is context, not taught. A turn whose rendering has no special token is
   * taught whole. Throws ChatRenderError when a rendered prefix is not a prefix of the whole conversation
   * (a template that renders earlier turns differently once later ones exist cannot be cut this way).
   */
  renderForTraining(messages: readonly ChatMessage[]): RenderedChat {
    const text = this.render(messages)
    const spans: [number, number][] = []
    for (let i = 0; i < messages.length; i++) {
      if (messages[i]!.role !== 'assistant') continue
      const before = this.render(messages.slice(0, i), true)
      const through = i + 1 === messages.length ? text : this.render(messages.slice(0, i + 1))
      const notPrefix = (what: string): ChatRenderError =>
        new ChatRenderError(`the chat template renders ${what} differently from the start of the whole conversation, so the assistant turn (message ${i + 1}) cannot be located for the loss`, 'not-prefix')
      if (!text.startsWith(before)) throw notPrefix(`the messages before message ${i + 1} (with the generation prompt)`)
      if (!text.startsWith(through)) throw notPrefix(`the messages through message ${i + 1}`)
      if (through.length < before.length) throw notPrefix(`message ${i + 1}`)
      const start = before.length
      const end = start + this.endOfTurn(through.slice(start))
      if (spans.length > 0 && start < spans[spans.length - 1]![1]) throw notPrefix(`message ${i + 1}`)
      if (end > start) spans.push([start, end])
    }
    return { text, spans }
  }

  /** Where the taught part of one rendered assistant turn ends: after its last special token, else at its end. */
  private endOfTurn(turn: string): number {
    let end = -1
    for (const token of this.specialTokens) {
      const at = turn.lastIndexOf(token)
      if (at >= 0) end = Math.max(end, at + token.length)
    }
    return end < 0 ? turn.length : end
  }
}
