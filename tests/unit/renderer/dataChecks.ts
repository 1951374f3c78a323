import type { DataCheckResult, Params } from '../../../src/shared/api'

/** The Data step's check of a file it accepts, as the back end answers it (services/dataCheck.ts). */
export function usableCheck(p: Params<'checkData'>): DataCheckResult {
  return { file: p.path, task: p.task, rows: 32, usable: true, problems: [], moreProblems: 0, columns: { available: ['text', 'label'], used: { text: 'text', label: 'label' } }, classes: [{ label: 'pos', count: 16 }, { label: 'neg', count: 16 }], preview: [] }
}

/** A CSV whose rows all lack a label: the check's errors name each row (the header is row 1). */
export function unlabelledCheck(p: Params<'checkData'>): DataCheckResult {
  const name = p.path.split('/').pop()!
  const problems = [2, 3, 4].map((row) => ({ severity: 'error' as const, code: 'missing-label', message: `${name}, row ${row}: no label in "label"`, row, column: 'label' }))
  return { file: p.path, task: p.task, rows: 3, usable: false, problems, moreProblems: 0, columns: { available: ['text', 'label'], used: { text: 'text', label: 'label' } }, preview: [] }
}
