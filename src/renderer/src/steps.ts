/** The wizard's steps and the two tools beside it, in navigation order. */
export type StepId = 'model' | 'data' | 'layers' | 'train' | 'export' | 'runs' | 'inspect'

export interface StepInfo {
  id: StepId
  label: string
  /** Wizard steps are numbered; tools are not. */
  tool: boolean
}

export const steps: readonly StepInfo[] = [
  { id: 'model', label: 'Model', tool: false },
  { id: 'data', label: 'Data', tool: false },
  { id: 'layers', label: 'Layers', tool: false },
  { id: 'train', label: 'Train', tool: false },
  { id: 'export', label: 'Export', tool: false },
  { id: 'runs', label: 'Runs', tool: true },
  { id: 'inspect', label: 'Inspect', tool: true }
]

export function isStepId(value: string): value is StepId {
  return steps.some((s) => s.id === value)
}
