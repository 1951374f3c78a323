import { isJsonObject, type JsonObject } from '../io/jsonFile'
import { checkRegexFields } from './tokenizerPatterns'

/**
 * The fields of tokenizer.json that @huggingface/tokenizers would take on trust: an unknown `model.type` is
 * silently run as a plain lookup table, a vocabulary id of 1.5 becomes a property of an array, a pattern of
 * a megabyte is compiled. Each is refused here with the field's path, before the library builds anything.
 */

/** The models this app runs (WordLevel and the library's guesses for untyped files are not among them). */
export const tokenizerModelTypes = ['BPE', 'WordPiece', 'Unigram'] as const

const isId = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value < 2 ** 31

/** The first problem of a parsed tokenizer.json as `field: reason`, or undefined when it is fit to build. */
export function tokenizerJsonProblem(json: JsonObject): string | undefined {
  const model = json['model']
  if (!isJsonObject(model)) return 'model: missing, or not an object'
  const type = model['type']
  if (!tokenizerModelTypes.includes(type as (typeof tokenizerModelTypes)[number])) {
    return `model.type: ${type === undefined ? 'missing' : JSON.stringify(type)}; the tokenizer models this app runs are ${tokenizerModelTypes.join(', ')}`
  }
  const vocab = model['vocab']
  if (type === 'Unigram') {
    if (!Array.isArray(vocab)) return 'model.vocab: a Unigram vocabulary is a list of [piece, score] pairs'
    for (let i = 0; i < vocab.length; i++) {
      const entry = vocab[i] as unknown
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'number' || !Number.isFinite(entry[1])) {
        return `model.vocab[${i}]: ${JSON.stringify(entry)?.slice(0, 80)} is not a [piece, score] pair with a finite score`
      }
    }
  } else {
    if (!isJsonObject(vocab)) return `model.vocab: a ${type} vocabulary is an object of token → id`
    for (const [token, id] of Object.entries(vocab)) {
      if (!isId(id)) return `model.vocab[${JSON.stringify(token)}]: the id ${JSON.stringify(id)} is not a whole number from 0 to 2^31−1`
    }
  }
  const added = json['added_tokens']
  if (added !== undefined && added !== null) {
    if (!Array.isArray(added)) return 'added_tokens: not a list'
    for (let i = 0; i < added.length; i++) {
      const token = added[i] as unknown
      if (!isJsonObject(token) || typeof token['content'] !== 'string') return `added_tokens[${i}]: not a token with a string content`
      if (!isId(token['id'])) return `added_tokens[${i}].id: ${JSON.stringify(token['id'])} is not a whole number from 0 to 2^31−1`
    }
  }
  return checkRegexFields(json)
}
