/**
 * Which outputs a run can be exported to, and why not, written once: `siva export` and the back end refuse
 * an output with these reasons, and the Export step offers or disables each output with the same ones.
 * Pure: the engine gathers the facts (export/exportFacts.ts), this decides.
 *
 * Messages are worded per caller: the engine throws an ExportRefusal that says what is wrong and which
 * setting fixes it, and each caller words the setting its own way (the CLI as a flag, `--force`; the app
 * as its control, "tick Overwrite").
 */
import type { ExportKind } from './api'
import { methodInfo, type MethodName } from './methods'
import type { TrainTask } from './training'

export const exportKindOrder: readonly ExportKind[] = ['merged', 'adapter', 'peft-lora', 'report']

/** How a caller names the settings an export message points to. */
export interface ExportWording {
  /** An output as the caller offers it: `--merged`, "Merged checkpoint". */
  output(kind: ExportKind): string
  /** What to do instead of an unavailable output: "export --merged or --adapter instead". */
  instead(kinds: readonly ExportKind[]): string
  /** A folder an earlier export wrote is in the way: "choose a new folder or pass --force to replace it". */
  replace: string
  /** The best checkpoint is missing: use the last one, or (`orStep`) a step the run holds. */
  otherCheckpoint(orStep: boolean): string
  /** No output was asked for. */
  chooseOutput: string
}

const flags: Record<ExportKind, string> = { merged: '--merged', adapter: '--adapter', 'peft-lora': '--peft-lora', report: '--report' }

/** `siva export`'s words: its flags. */
export const cliWording: ExportWording = {
  output: (kind) => flags[kind],
  instead: (kinds) => `export ${orList(kinds.map((k) => flags[k]))} instead`,
  replace: 'choose a new folder or pass --force to replace it',
  otherCheckpoint: (orStep) => (orStep ? 'use --checkpoint last or a step it holds' : 'use --checkpoint last'),
  chooseOutput: 'choose at least one of --merged, --adapter, --peft-lora, --report'
}

/** The Export step's controls, as it labels them. */
export const exportControlLabels: Record<ExportKind, string> = {
  merged: 'Merged checkpoint',
  adapter: 'SiVA adapter',
  'peft-lora': 'PEFT LoRA adapter',
  report: 'Run report'
}

/** The label of the Export step's checkbox that lets an export replace a folder an earlier one wrote. */
export const overwriteControlLabel = 'Overwrite'

/** The app's words: the Export step's controls. */
export const uiWording: ExportWording = {
  output: (kind) => exportControlLabels[kind],
  instead: (kinds) => `choose ${orList(kinds.map((k) => exportControlLabels[k]))} instead`,
  replace: `choose a new folder or tick ${overwriteControlLabel} to replace it`,
  otherCheckpoint: (orStep) => (orStep ? 'choose Last or a step it holds under Checkpoint' : 'choose Last under Checkpoint'),
  chooseOutput: `tick at least one of ${exportKindOrder.map((k) => exportControlLabels[k]).join(', ')}`
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)!}`
}

/** A message that names a setting, to be worded by whoever shows it. */
export type Worded = (wording: ExportWording) => string

/** The setting an ExportRefusal points to. */
export type ExportField = ExportKind | 'force' | 'checkpoint' | 'outputs'

/**
 * An export refused for a reason the user fixes with a setting (`field`). Its `message` is in the CLI's
 * words; `worded(uiWording)` says the same with the app's controls.
 */
export class ExportRefusal extends Error {
  override name = 'ExportRefusal'

  constructor(
    readonly field: ExportField,
    private readonly say: Worded
  ) {
    super(say(cliWording))
  }

  worded(wording: ExportWording): string {
    return this.say(wording)
  }
}

/** What decides a run's outputs: its method and task, and what its base model is. */
export interface ExportFacts {
  method: MethodName
  task: TrainTask
  model: {
    format: 'safetensors' | 'tfjs'
    modelType?: string
    /** Whether transformers (and so PEFT) reads this family at all: its family names transformers classes. */
    transformers: boolean
    /** The transformers class the run's task loads as (BertForSequenceClassification), when there is one. */
    transformersClass?: string
  }
}

/** One output's availability: offered, or not with the reason in the caller's words. */
export interface OutputAvailability {
  available: boolean
  reason?: string
}

/** What the Export step offers for a run (the `exportOptions` call). */
export interface ExportOptionsSummary {
  runId: string
  /** Absent when the run's base model cannot be read (its folder is gone): then only the report is offered. */
  facts?: ExportFacts
  /** Each output, offered or not with the reason in the app's words. */
  outputs: Record<ExportKind, OutputAvailability>
  /** The checkpoints the run holds, by step; `best` and `last` are two of them, when the run has them. */
  checkpoints: { name: string; step: number }[]
  best?: { name: string; step: number }
  last?: { name: string; step: number }
  /** The base model the run trained from, as its run.json gives it. */
  baseModel: string
  /** Classification: the class names in id order. */
  labels?: string[]
}

/** How far a run's export has got (the `exportProgress` call); `stage` absent when none is running. */
export interface ExportProgressSummary {
  /** 'restore': rebuilding the run at its checkpoint; then each output in turn. */
  stage?: ExportKind | 'restore'
  done?: number
  total?: number
  detail?: string
  /** Which output of how many is being written (1-based). */
  output?: number
  outputs?: number
  /** When the export started (ISO time). */
  since?: string
}

/** Why `kind` cannot be written for a run with these facts (to be worded), or undefined when it can. */
export function unavailableReason(facts: ExportFacts, kind: ExportKind): Worded | undefined {
  const method = methodInfo(facts.method)
  const { model } = facts
  switch (kind) {
    case 'merged':
    case 'report':
      // A merged model is written in the base's own format: safetensors, or a TensorFlow.js graph model.
      return undefined
    case 'adapter':
      if (method.kind === 'full') return (w) => `full fine-tuning changes every weight, so there is no adapter to write: ${w.instead(['merged'])}`
      return undefined
    case 'peft-lora': {
      if (!model.transformers) {
        const what = `${model.modelType ?? 'this model'} is not one${model.format === 'tfjs' ? ' (it is a TensorFlow.js graph model)' : ''}`
        return (w) => `PEFT loads Hugging Face transformers models, and ${what}: ${w.instead(method.kind === 'full' ? ['merged'] : ['merged', 'adapter'])}`
      }
      if (method.kind !== 'adapter') {
        const head = method.kind === 'head'
        return (w) => `a ${head ? 'head-only' : 'full fine-tuning'} run has no low-rank update to write as LoRA: ${w.instead(head ? ['merged', 'adapter'] : ['merged'])}`
      }
      // PEFT has no task type for image classification: its adapter then names the class to build.
      if (facts.task === 'image-classify' && model.transformersClass === undefined) {
        return (w) => `a PEFT adapter for image classification names the transformers class it applies to, and ${model.modelType ?? 'this model'} has none: ${w.instead(['merged', 'adapter'])}`
      }
      return undefined
    }
  }
}

/** Every output's availability for a run, the reasons in `wording`. */
export function exportAvailability(facts: ExportFacts, wording: ExportWording): Record<ExportKind, OutputAvailability> {
  const result = {} as Record<ExportKind, OutputAvailability>
  for (const kind of exportKindOrder) {
    const reason = unavailableReason(facts, kind)
    result[kind] = reason ? { available: false, reason: reason(wording) } : { available: true }
  }
  return result
}

/** Refuse the first of `kinds` these facts rule out, before anything is read or written. */
export function refuseUnavailable(facts: ExportFacts, kinds: readonly ExportKind[]): void {
  for (const kind of exportKindOrder) {
    if (!kinds.includes(kind)) continue
    const reason = unavailableReason(facts, kind)
    if (reason) throw new ExportRefusal(kind, reason)
  }
}
