/**
 * Hugging Face Hub ids as a user types them: `org/name` or a canonical `name`, with an optional `@revision`
 * (a branch, a tag or a 40-hex commit). One rule for the back end (hubCache.ts resolves and downloads by
 * it), the request schemas and the Model step (which offers Download only for text that is an id).
 */

export interface HubReference {
  /** `org/name` or a canonical id without an organisation (`gpt2`). */
  id: string
  /** As given after `@`; undefined means `main`. */
  revision?: string
}

/** A namespace or a repo name: ASCII letters, digits, `-`, `_`, `.`, starting and ending with a letter, digit or `_` (huggingface_hub's REPO_ID_REGEX). */
const namePart = /^(?:[A-Za-z0-9_]|[A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_])$/
/** A branch or tag: Git's names, as far as a cache file name can hold them (segments, no `..`, no leading dot). */
const revisionSegment = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/
const maxNameLength = 96
const maxRevisionLength = 255
/** The longest text that can be an id: org/name@revision at their limits. */
export const maxHubIdLength = 2 * maxNameLength + 1 + 1 + maxRevisionLength

/** Why `text` is not a Hub id, or undefined if it is one. */
export function hubIdProblem(text: string): string | undefined {
  if (text.length === 0) return 'it is empty'
  if (text.length > maxHubIdLength) return 'it is too long'
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'it holds a control character'
  const at = text.indexOf('@')
  const id = at < 0 ? text : text.slice(0, at)
  const revision = at < 0 ? undefined : text.slice(at + 1)
  const parts = id.split('/')
  if (parts.length > 2) return 'a Hub id has at most one / (org/name)'
  for (const part of parts) {
    if (part.length === 0) return 'the organisation or the name is empty'
    if (part.length > maxNameLength) return `a name has at most ${maxNameLength} characters`
    if (!namePart.test(part)) return `'${part}' may hold only letters, digits, '-', '_' and '.', and may not start or end with '-' or '.'`
  }
  if (id.includes('--') || id.includes('..')) return "a Hub id may not hold '--' or '..'"
  if (id.endsWith('.git')) return "a Hub id may not end in '.git'"
  if (revision !== undefined) {
    if (revision.length === 0) return 'the revision after @ is empty'
    if (revision.length > maxRevisionLength) return `a revision has at most ${maxRevisionLength} characters`
    if (!revision.split('/').every((s) => revisionSegment.test(s) && !s.endsWith('.lock') && !s.includes('..'))) return `'${revision}' is not a branch, tag or commit name`
  }
  return undefined
}

/** `org/name@rev` → its parts, or undefined when `text` is not shaped as a Hub id (hubIdProblem says why). */
export function parseHubId(text: string): HubReference | undefined {
  if (hubIdProblem(text) !== undefined) return undefined
  const at = text.indexOf('@')
  return at < 0 ? { id: text } : { id: text.slice(0, at), revision: text.slice(at + 1) }
}
