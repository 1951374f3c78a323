import { makeProblem, place, type DataProblem } from './problems'

/** Which columns of a file hold the text, the optional second text (sentence pairs) and the label. */
export interface ColumnMapping {
  text: string
  textPair?: string
  label: string
}

/** What the user chose; a column left out is detected from the usual names. */
export type ColumnChoice = Partial<ColumnMapping>

/** Usual names, in order of preference, matched without regard to case. */
const textNames = ['text', 'sentence', 'content']
const labelNames = ['label', 'labels', 'target']
/** GLUE-style sentence pairs, used only when no text column was chosen. */
const pairNames: [string, string][] = [['sentence1', 'sentence2'], ['text_a', 'text_b'], ['premise', 'hypothesis'], ['question', 'answer']]

export interface ResolvedColumns {
  /** Each role that could be resolved; a role missing here has an error in `problems`. */
  mapping: Partial<ColumnMapping>
  /** Errors for columns not found, and info lines saying which columns were detected. */
  problems: DataProblem[]
}

/**
 * Resolve a column choice against the columns a file has. Every missing column is reported, each with the
 * list of columns that were found, so one message is enough to fix the choice.
 */
export function resolveColumns(file: string, columns: string[], choice: ColumnChoice = {}, row?: number): ResolvedColumns {
  const problems: DataProblem[] = []
  const mapping: Partial<ColumnMapping> = {}
  const found = columns.length === 0 ? '(none)' : columns.join(', ')
  const where = row === undefined ? {} : { row }

  const take = (role: keyof ColumnMapping, chosen: string | undefined, usual: string[]): void => {
    if (chosen !== undefined) {
      if (columns.includes(chosen)) mapping[role] = chosen
      else problems.push(makeProblem(file, 'column-missing', 'error', `column "${chosen}" not found in ${place(file)}; columns: ${found}`, { ...where, field: chosen }))
      return
    }
    const detected = findUsual(columns, usual)
    if (detected === undefined) {
      problems.push(
        makeProblem(file, 'column-missing', 'error', `no ${describeRole(role)} column in ${place(file)} (looked for ${usual.join(', ')}); columns: ${found}`, where)
      )
      return
    }
    mapping[role] = detected
    problems.push(makeProblem(file, 'column-detected', 'info', `${place(file)}: using column "${detected}" as the ${describeRole(role)}`, { field: detected }))
  }

  if (choice.text === undefined && choice.textPair === undefined) {
    const pair = pairNames.find(([a, b]) => findUsual(columns, [a]) !== undefined && findUsual(columns, [b]) !== undefined)
    if (pair && findUsual(columns, textNames) === undefined) {
      take('text', undefined, [pair[0]])
      take('textPair', undefined, [pair[1]])
    } else {
      take('text', undefined, textNames)
    }
  } else {
    take('text', choice.text, textNames)
    if (choice.textPair !== undefined) take('textPair', choice.textPair, [])
  }
  take('label', choice.label, labelNames)
  return { mapping, problems }
}

/** Causal language modelling: the text to learn, and optionally a prompt it continues (no loss on the prompt). */
export interface CausalColumns {
  /** The completion column when there is a prompt, else the text column. */
  text: string
  prompt?: string
}

export interface CausalColumnChoice {
  text?: string
  prompt?: string
  /** Chat data: the column holding each row's conversation, a list of {role, content} (default: messages). */
  messages?: string
}

const messagesNames = ['messages']

/**
 * The conversation column of a causal-LM file, when it is chat data: the chosen one, else a `messages`
 * column, unless a text or prompt column was chosen. It wins over detected prompt/text columns, since
 * chat datasets often carry a `prompt` beside the conversation (UltraChat's prompt, prompt_id, messages).
 */
export function resolveMessagesColumn(file: string, columns: string[], choice: CausalColumnChoice = {}, row?: number): { column?: string; problems: DataProblem[] } {
  const where = row === undefined ? {} : { row }
  if (choice.messages !== undefined) {
    if (columns.includes(choice.messages)) return { column: choice.messages, problems: [] }
    const found = columns.length === 0 ? '(none)' : columns.join(', ')
    return { problems: [makeProblem(file, 'column-missing', 'error', `column "${choice.messages}" not found in ${place(file)}; columns: ${found}`, { ...where, field: choice.messages })] }
  }
  if (choice.text !== undefined || choice.prompt !== undefined) return { problems: [] }
  const detected = findUsual(columns, messagesNames)
  if (detected === undefined) return { problems: [] }
  return { column: detected, problems: [makeProblem(file, 'column-detected', 'info', `${place(file)}: using column "${detected}" as the conversation (loss on assistant turns only)`, { field: detected })] }
}

const promptNames = ['prompt', 'input', 'source', 'meaning_representation']
const completionNames = ['completion', 'output', 'target', 'human_reference']

/**
 * Resolve the columns of a causal-LM file: `prompt` + `completion` (or the usual synonyms) when both are
 * present, else a single text column. A chosen prompt without a findable completion is an error, not a
 * silent fall-back to training on everything.
 */
export function resolveCausalColumns(file: string, columns: string[], choice: CausalColumnChoice = {}, row?: number): { mapping: Partial<CausalColumns>; problems: DataProblem[] } {
  const problems: DataProblem[] = []
  const found = columns.length === 0 ? '(none)' : columns.join(', ')
  const where = row === undefined ? {} : { row }
  const missing = (name: string): DataProblem => makeProblem(file, 'column-missing', 'error', `column "${name}" not found in ${place(file)}; columns: ${found}`, { ...where, field: name })
  const detected = (name: string, role: string): DataProblem => makeProblem(file, 'column-detected', 'info', `${place(file)}: using column "${name}" as the ${role}`, { field: name })

  const prompt = choice.prompt ?? (choice.text === undefined ? findUsual(columns, promptNames) : undefined)
  if (prompt !== undefined) {
    if (!columns.includes(prompt)) return { mapping: {}, problems: [missing(prompt)] }
    const text = choice.text ?? findUsual(columns, completionNames)
    if (text === undefined) {
      problems.push(makeProblem(file, 'column-missing', 'error', `${place(file)} has a prompt column "${prompt}" but no completion column (looked for ${completionNames.join(', ')}); columns: ${found}`, where))
      return { mapping: { prompt }, problems }
    }
    if (!columns.includes(text)) return { mapping: { prompt }, problems: [missing(text)] }
    if (choice.prompt === undefined) problems.push(detected(prompt, 'prompt (no loss on it)'))
    if (choice.text === undefined) problems.push(detected(text, 'completion'))
    return { mapping: { prompt, text }, problems }
  }
  if (choice.text !== undefined) return columns.includes(choice.text) ? { mapping: { text: choice.text }, problems } : { mapping: {}, problems: [missing(choice.text)] }
  const text = findUsual(columns, textNames)
  if (text === undefined) {
    problems.push(makeProblem(file, 'column-missing', 'error', `no text column in ${place(file)} (looked for ${textNames.join(', ')}, or ${promptNames[0]} + ${completionNames[0]}); columns: ${found}`, where))
    return { mapping: {}, problems }
  }
  if (columns.length > 1) problems.push(detected(text, 'text'))
  return { mapping: { text }, problems }
}

function findUsual(columns: string[], usual: string[]): string | undefined {
  for (const name of usual) {
    const match = columns.find((column) => column.trim().toLowerCase() === name)
    if (match !== undefined) return match
  }
  return undefined
}

function describeRole(role: keyof ColumnMapping): string {
  return role === 'text' ? 'text' : role === 'textPair' ? 'second text' : 'label'
}
