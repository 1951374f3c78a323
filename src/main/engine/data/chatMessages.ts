import { makeProblem, place, quote, type DataProblem, type DataProblemCode, type ProblemSink } from './problems'

/** The roles a conversation may have: those chat templates know. */
export const chatRoles = ['system', 'user', 'assistant', 'tool'] as const
export type ChatRole = (typeof chatRoles)[number]

/**
 * One turn of a conversation, as the `messages` column of a chat dataset (Hugging Face's conversational
 * format) holds it. Other keys (`name`, `tool_call_id`…) are kept and reach the template unchanged.
 */
export interface ChatMessage {
  role: ChatRole
  content: string
  [key: string]: unknown
}

/** Problem codes of chat data. */
export type ChatProblemCode = Extract<DataProblemCode, `chat-${string}`>

export function chatProblem(file: string, code: ChatProblemCode, severity: DataProblem['severity'], message: string, where: { row?: number; field?: string } = {}): DataProblem {
  return makeProblem(file, code, severity, message, where)
}

const isRole = (value: unknown): value is ChatRole => typeof value === 'string' && (chatRoles as readonly string[]).includes(value)

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return 'binary data'
  return value === undefined ? 'nothing' : value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : typeof value === 'string' ? `the text ${quote(value, 30)}` : `a ${typeof value}`
}

/**
 * The conversation in a `messages` cell, or undefined after reporting, with the row and column, everything
 * that keeps it from being trained on: not a list, an empty list, a turn that is not an object, a role
 * missing or unknown, content that is not text, no assistant turn (nothing to learn), or an assistant turn
 * with empty content. Every bad turn of the row is named, so one pass says all there is to fix.
 */
export function checkMessages(file: string, row: number, column: string, value: unknown, onProblem: ProblemSink): ChatMessage[] | undefined {
  const at = place(file, row)
  const report = (code: ChatProblemCode, message: string): void => onProblem(chatProblem(file, code, 'error', `${at}: ${message}`, { row, field: column }))
  if (!Array.isArray(value)) {
    report('chat-messages-invalid', `"${column}" should be a list of messages ({"role": …, "content": …}), found ${describe(value)}`)
    return undefined
  }
  if (value.length === 0) {
    report('chat-messages-invalid', `"${column}" is an empty list of messages`)
    return undefined
  }
  let usable = true
  let assistants = 0
  value.forEach((message: unknown, i) => {
    const which = `"${column}" message ${i + 1}`
    if (typeof message !== 'object' || message === null || Array.isArray(message) || message instanceof Uint8Array) {
      usable = false
      report('chat-messages-invalid', `${which} should be an object with "role" and "content", found ${describe(message)}`)
      return
    }
    const { role, content } = message as Record<string, unknown>
    if (role === undefined || role === null) {
      usable = false
      report('chat-messages-invalid', `${which} has no "role" (one of ${chatRoles.join(', ')})`)
    } else if (!isRole(role)) {
      usable = false
      report('chat-messages-invalid', `${which} has the role ${describe(role)}; roles are ${chatRoles.join(', ')}`)
    }
    if (typeof content !== 'string') {
      usable = false
      report('chat-messages-invalid', `${which} should have text "content", found ${describe(content)}`)
    } else if (role === 'assistant') {
      assistants++
      if (content.trim() === '') {
        usable = false
        report('chat-messages-invalid', `${which} (assistant) has empty "content": there is nothing to learn in it`)
      }
    }
  })
  if (usable && assistants === 0) {
    report('chat-no-assistant', `"${column}" has no assistant message; the loss is on assistant turns only, so the row teaches nothing`)
    return undefined
  }
  return usable ? (value as ChatMessage[]) : undefined
}

/** The characters of a conversation's contents, for length statistics before (or without) rendering. */
export function conversationText(messages: readonly ChatMessage[]): string {
  return messages.map((message) => message.content).join('\n')
}
