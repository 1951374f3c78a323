/**
 * The one contract between the renderer and whichever back end serves it: Electron IPC in the app, a
 * WebSocket under `siva serve`. Requests are validated with the zod schemas below on the back end; the
 * renderer reaches these methods only through src/renderer/src/api.
 *
 * Two kinds of method: calls (one request, one answer) and streams (one request, then events until the
 * stream ends or the caller closes it). Both travel as the messages at the bottom of this file.
 */
import { z } from 'zod'
import { maxRequestRank, methodNames } from './methods'
import { hubIdProblem, maxHubIdLength } from './hubId'
import { namePattern } from './pattern/safePattern'
import type { Evaluation, RunStatus } from './runTimeline'
import type { InspectReport, LayerSpectrum } from './spectra'
import type { BackendSummary, TrainConfig, TrainEvent } from './training'

// ---------------------------------------------------------------- DTOs

export interface AppInfo {
  name: string
  version: string
  versions: Record<string, string>
  platform: string
  /** The TensorFlow.js backend training will use, and why faster ones were passed over. */
  backend?: BackendSummary
  /** Where runs are kept. */
  runsDir?: string
  /** Whether `pickPath` opens the system's file dialog (the desktop app) or is unavailable (a browser). */
  canPickPaths?: boolean
  /** Whether `revealPath` can show a folder in the system's file manager (the desktop app) or is unavailable (a browser). */
  canRevealPaths?: boolean
  /**
   * The desktop app: whether closing its window quits it ('quits': Windows, Linux; runs in training then
   * stop at their next step with a checkpoint, and continue later) or leaves it running ('stays': macOS;
   * runs train on until the app quits). Absent in a browser: closing the page leaves `siva serve` training.
   */
  windowClose?: 'quits' | 'stays'
  /** The demo model and data that ship with the app, when present, and the settings `siva demo` trains them with. */
  demo?: {
    model: string
    data: string
    task: TrainConfig['task']
    recipe?: { validation: string; targets: string; perc: number; lr: number; headLr: number; maxLength: number; epochs: number }
  }
}

/** One projection a method may adapt (engine AdaptableLinear, as the UI needs it). */
export interface TargetRow {
  name: string
  block: number
  role: 'query' | 'key' | 'value' | 'attention.output' | 'mlp.in' | 'mlp.out'
  /** [out, in] in nn.Linear terms. */
  shape: [number, number]
  /** The name analyseLayers gives this target's matrix (its tensor, plus .q/.k/.v for a block of a fused one). */
  matrix?: string
}

export interface ModelSummary {
  path: string
  format: 'safetensors' | 'tfjs'
  modelType?: string
  architectures: string[]
  /** Total parameters in the checkpoint. */
  parameters: number
  /** dtype → parameters stored in it. */
  dtypes: Record<string, number>
  layers: number
  hiddenSize?: number
  /** Adaptable projections, in block order; empty when the family is not supported for training. */
  targets: TargetRow[]
  /** The family's default target pattern (PEFT's), as a regex source. */
  defaultTargets?: string
  /** The head learning rate training starts from for this family, when it is trainable. */
  headLr?: number
  /** Why the model cannot be trained, when it cannot (an unsupported family). */
  notTrainable?: string
  /** Tokenizer or image preprocessor present. */
  tokenizer: boolean
  imageProcessor: boolean
}

/** A checkpoint opened before, newest first. */
export interface RecentModel {
  path: string
  modelType?: string
  architectures: string[]
  openedAt: string
}

/** One snapshot of a model in the Hugging Face cache (snapshots/<commit>). */
export interface CachedModelRevision {
  commit: string
  /** Branches and tags in refs/ that point at it (main, v1, pr/1). */
  refs: string[]
  /** The snapshot folder. */
  snapshot: string
  hasConfig: boolean
  hasWeights: boolean
  /** What it lacks to open, in words. */
  problem?: string
  modifiedAt: string
}

/** The models in the local Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub). */
export interface CachedModels {
  cache: string
  /** HF_HUB_OFFLINE is set. */
  offline: boolean
  models: { id: string; sizeBytes: number; revisions: CachedModelRevision[] }[]
}

/** A model download from the Hugging Face Hub into the cache (the Model step's Download). */
export interface HubDownloadSummary {
  /** What was asked for, as typed: `org/name` or `org/name@revision`. */
  model: string
  state: 'running' | 'done' | 'failed' | 'cancelled'
  startedAt: string
  /** The engine's latest progress (hubDownload.ts HubDownloadProgress), once the Hub has answered. */
  progress?: {
    stage: 'listing' | 'downloading' | 'verifying' | 'done'
    commit?: string
    file?: string
    fileIndex: number
    fileCount: number
    bytes: number
    totalBytes: number
    resumedBytes: number
    bytesPerSecond: number
    etaSeconds?: number
  }
  /** Failed or cancelled: what happened and what to do. */
  error?: string
  /** Done: the snapshot folder the model opens from. */
  snapshot?: string
}

export interface DataProblemRow {
  severity: 'error' | 'warning' | 'info'
  code: string
  message: string
  row?: number
  column?: string
}

export interface DataCheckResult {
  file: string
  task: TrainConfig['task']
  rows: number
  /** The training data and, when one is given, the validation file can both be trained on. */
  usable: boolean
  problems: DataProblemRow[]
  /** Problems beyond those listed (a file with thousands of bad rows). */
  moreProblems: number
  /** Columns found in the file (text tasks) and the ones that will be used. */
  columns: { available: string[]; used: Record<string, string | undefined> }
  classes?: { label: string; count: number }[]
  tokens?: DataCheckTokens
  /** The first rows as the model will see them. */
  preview: {
    row?: number
    text?: string
    textPair?: string
    label?: string
    tokens?: number
    path?: string
    size?: string
    /** Chat data: how many messages the row holds (`text` is then the conversation as the checkpoint's template renders it). */
    messages?: number
    /** Chat data: the [start, end) character ranges of `text` that get loss (assistant turns with their end-of-turn token). */
    assistantSpans?: [number, number][]
    /** Chat data: how many of the row's ids get loss. */
    trainedTokens?: number
  }[]
  /** The validation file, checked as `siva data check --validation` does: its labels must be training labels. */
  validation?: {
    file: string
    rows: number
    usable: boolean
    problems: DataProblemRow[]
    moreProblems: number
    classes?: { label: string; count: number }[]
    /** Validation labels the training data never has (each an error), with their rows. */
    unseen?: { label: string; count: number }[]
    tokens?: DataCheckTokens
  }
}

/** Token lengths with the checkpoint's tokenizer (engine/data/validate.ts), and the limit as training applies it. */
export interface DataCheckTokens {
  maxLength: number
  tooLong: number
  mean: number
  max: number
  /** Where maxLength comes from (engine/data/tokenLimit.ts): chosen, the model's own, capped at 512, or 512 by default. */
  limit: { source: 'chosen' | 'tokenizer' | 'capped' | 'default'; modelMaxLength?: number; modelField?: string; explanation: string }
  /** Rows per token length, lengths in [from, to): `siva data check`'s bins, split at maxLength + 1 so the bins above it hold the truncated rows. */
  histogram: { from: number; to: number; count: number }[]
  /** Chat data: ids within the limit, those with loss (assistant turns), and conversations left with none. */
  kept?: number
  trained?: number
  untrainedRows?: number
}

export interface RunSummary {
  id: string
  /** The name people gave it (updateRun); the views show the id when there is none. */
  name?: string
  /** Their notes on it. */
  notes?: string
  dir: string
  created: string
  model: string
  data: string
  task: TrainConfig['task']
  method: TrainConfig['method']
  /** As src/shared/runTimeline.ts reads the run's events; 'interrupted' when they stop short and no trainer is alive. */
  status: RunStatus
  step: number
  totalSteps?: number
  trainable?: number
  /** The last evaluation's metrics. */
  metrics?: Record<string, number>
  /** The best evaluation so far. */
  best?: Evaluation
  /** Why it failed (or, for an interrupted run, why its trainer stopped when this back end saw it). */
  error?: string
}

export interface ExportSummary {
  checkpoint: { name: string; step: number }
  /** `omitted`: for a merged checkpoint, the base's tensors the trained class has no place for (another head, an unused pooler), left out. */
  outputs: { kind: ExportKind; dir: string; bytes: number; files: string[]; omitted?: string[] }[]
}

export type ExportKind = 'merged' | 'adapter' | 'peft-lora' | 'report'

/** A generation preview's bounds: a prompt a person types, a continuation short enough to read (and wait for). */
export const generationLimits = { promptChars: 4000, maxNewTokens: 256 } as const

/** One model's greedy continuation of the prompt. */
export interface GenerationSide {
  /** The new text, special tokens (the stop token) left out. */
  text: string
  /** New tokens, the stop token included. */
  tokens: number
  stoppedBy: 'eos' | 'length' | 'cancel'
  seconds: number
}

/** A run's generation preview: the base model's continuation and the adapted model's beside it. */
export interface GenerationPreview {
  /** The base checkpoint (the run's model). */
  model: string
  promptTokens: number
  base: GenerationSide
  /** Absent when the preview was cancelled before the adapted model ran. */
  adapted?: GenerationSide & { checkpoint: { name: string; step: number } }
}

export type { Evaluation, InspectReport, LayerSpectrum, RunStatus, TrainConfig, TrainEvent }

// ---------------------------------------------------------------- request schemas

const path = z.string().min(1).max(4096)
/** A Hub id with an optional revision (hubId.ts). */
const hubModel = z
  .string()
  .max(maxHubIdLength)
  .superRefine((s, context) => {
    const problem = hubIdProblem(s)
    if (problem !== undefined) context.addIssue({ code: 'custom', message: `not a Hub id (org/name, optionally @revision): ${problem}` })
  })
const runId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a run id is letters, digits, . _ -')
const task = z.enum(['classify', 'regress', 'causal-lm', 'image-classify'])
const method = z.enum(methodNames)
// Compiled the way the back end will match it (bounded time), so what passes here also runs there.
const regex = z.string().superRefine((s, context) => {
  try {
    namePattern(s, 'pattern')
  } catch (error) {
    context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) })
  }
})

const columns = z
  .object({ text: z.string().max(200), textPair: z.string().max(200), label: z.string().max(200), prompt: z.string().max(200), path: z.string().max(200), messages: z.string().max(200) })
  .partial()
  .strict()

/** What the Train step sends: everything optional but the essentials; defaults per task fill the rest. */
export const trainConfigInput = z
  .object({
    model: path,
    data: path,
    task,
    method: method.optional(),
    validation: path.optional(),
    validationFraction: z.number().gt(0).lt(1).optional(),
    perc: z.number().gt(0).max(1).optional(),
    k: z.number().int().min(1).optional(),
    rank: z.number().int().min(1).max(maxRequestRank).optional(),
    alpha: z.number().positive().optional(),
    targets: regex.optional(),
    overrides: z.array(z.object({ pattern: regex, perc: z.number().gt(0).max(1).optional(), k: z.number().int().min(1).optional(), rank: z.number().int().min(1).optional(), skip: z.boolean().optional() }).strict()).max(10000).optional(),
    epochs: z.number().int().min(1).max(10000).optional(),
    maxSteps: z.number().int().min(1).optional(),
    batchSize: z.number().int().min(1).max(4096).optional(),
    gradientAccumulation: z.number().int().min(1).max(4096).optional(),
    lr: z.number().positive().max(10).optional(),
    headLr: z.number().positive().max(10).optional(),
    weightDecay: z.number().min(0).max(10).optional(),
    schedule: z.enum(['linear', 'cosine', 'constant']).optional(),
    warmupRatio: z.number().min(0).max(1).optional(),
    maxGradNorm: z.number().positive().optional(),
    dropout: z.boolean().optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    maxLength: z.number().int().min(2).max(8192).optional(),
    pack: z.boolean().optional(),
    evalEvery: z.number().int().min(0).optional(),
    spectraEvery: z.number().int().min(0).optional(),
    checkpointEvery: z.number().int().min(0).optional(),
    backend: z.enum(['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']).optional(),
    columns: columns.optional()
  })
  .strict()

export type TrainConfigInput = z.infer<typeof trainConfigInput>

/**
 * The wizard as a page left it (issue 17): restored after a reload, kept by the back end beside its runs
 * folder, so every tab and window on one back end picks up the same wizard. Strict and bounded: it is
 * written by a page and read back into one.
 */
const wizardNumber = z.number().finite().min(0).max(1e12)
const wizardText = z.string().max(4096)
const wizardName = z.string().min(1).max(512)
const wizardAmount = z.object({ perc: wizardNumber, k: wizardNumber, rank: wizardNumber }).partial().strict()
/** The Train step's hyperparameter overrides: the run request's own fields and limits, minus what the other steps decide. */
export const wizardHyperparameters = trainConfigInput
  .omit({ model: true, data: true, task: true, method: true, validation: true, perc: true, k: true, rank: true, targets: true, overrides: true, backend: true, columns: true, maxLength: true })
  .partial()
  .strict()
/** The largest wizard state kept, as JSON. */
export const maxWizardStateBytes = 256 * 1024
export const wizardState = z
  .object({
    version: z.literal(1),
    step: z.enum(['model', 'data', 'layers', 'train', 'export', 'runs', 'inspect']),
    /** The checkpoint folder: opened (reopened on restore) or only typed. */
    model: z.object({ path: wizardText, opened: z.boolean() }).strict().optional(),
    data: z
      .object({ path: wizardText, validation: wizardText, task, columns: columns, maxLength: z.number().int().min(2).max(8192).optional(), checked: z.boolean() })
      .strict()
      .optional(),
    layers: z
      .object({
        method,
        amountMode: z.enum(['perc', 'k']),
        perc: wizardNumber,
        k: wizardNumber,
        rank: wizardNumber,
        pattern: wizardText,
        blockFrom: z.number().int().min(0).max(100000),
        blockTo: z.number().int().min(0).max(100000),
        selected: z.array(wizardName).max(20000),
        overrides: z.array(z.object({ name: wizardName, amount: wizardAmount }).strict()).max(20000)
      })
      .strict()
      .optional(),
    hyperparameters: wizardHyperparameters.optional(),
    backend: z.enum(['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']).optional(),
    /** The run on the Train step. */
    runId: runId.optional()
  })
  .strict()
  .superRefine((state, context) => {
    const bytes = new TextEncoder().encode(JSON.stringify(state)).byteLength
    if (bytes > maxWizardStateBytes) context.addIssue({ code: 'custom', message: `the wizard state is ${bytes} bytes, more than the ${maxWizardStateBytes} kept` })
  })

export type WizardState = z.infer<typeof wizardState>

/** Every method: its request schema, and whether it is a call or a stream. */
export const methods = {
  appInfo: { kind: 'call', params: z.object({}).strict() },
  openModel: { kind: 'call', params: z.object({ path }).strict() },
  recentModels: { kind: 'call', params: z.object({}).strict() },
  cachedModels: { kind: 'call', params: z.object({}).strict() },
  /** Download a Hub model's missing files into the Hugging Face cache (one download per id and revision; asking again returns it). */
  downloadModel: { kind: 'call', params: z.object({ model: hubModel }).strict() },
  /** The downloads this back end started: running ones and the latest that ended. */
  downloads: { kind: 'call', params: z.object({}).strict() },
  /** Stop a running download; its partial file stays in the cache, and the next download resumes it. */
  cancelDownload: { kind: 'call', params: z.object({ model: hubModel }).strict() },
  /** The wizard as it was left on this back end (restored after a reload), and saving it. */
  wizardState: { kind: 'call', params: z.object({}).strict() },
  saveWizardState: { kind: 'call', params: z.object({ state: wizardState }).strict() },
  /** The configuration a run trains with (its run.json; the request's, resolved, while it is queued). */
  runConfig: { kind: 'call', params: z.object({ runId }).strict() },
  /** The desktop app's native open dialog: a folder (a checkpoint, an image dataset) or a file (a data file). */
  pickPath: { kind: 'call', params: z.object({ kind: z.enum(['folder', 'file']), title: z.string().max(200).optional() }).strict() },
  checkData: { kind: 'call', params: z.object({ path, task, model: path.optional(), validation: path.optional(), columns: columns.optional(), maxLength: z.number().int().min(2).max(8192).optional() }).strict() },
  listRuns: { kind: 'call', params: z.object({}).strict() },
  startRun: { kind: 'call', params: z.object({ config: trainConfigInput, name: z.string().max(100).optional() }).strict() },
  pauseRun: { kind: 'call', params: z.object({ runId }).strict() },
  resumeRun: { kind: 'call', params: z.object({ runId }).strict() },
  cancelRun: { kind: 'call', params: z.object({ runId }).strict() },
  /** Train an interrupted (or cancelled) run on from its latest checkpoint, as `siva train --resume` does; it joins the queue. */
  continueRun: { kind: 'call', params: z.object({ runId }).strict() },
  deleteRun: { kind: 'call', params: z.object({ runId }).strict() },
  /** A run's display name and notes (kept beside run.json, which stays as the run wrote it); an empty one removes it. */
  updateRun: { kind: 'call', params: z.object({ runId, name: z.string().max(100).regex(/^[^\p{Cc}\u2028\u2029]*$/u, 'a run name is one line of text, without control characters').optional(), notes: z.string().max(4000).optional() }).strict() },
  exportRun: {
    kind: 'call',
    params: z
      .object({
        runId,
        checkpoint: z.union([z.enum(['best', 'last']), z.number().int().min(0)]).optional(),
        outputs: z.object({ merged: path, adapter: path, 'peft-lora': path, report: path }).partial().strict(),
        compact: z.boolean().optional(),
        force: z.boolean().optional(),
        /** With peft-lora: one rank for every module (zero-padded), for vLLM and llama.cpp. */
        uniformRank: z.boolean().optional()
      })
      .strict()
  },
  /** Which outputs a run can be exported to (and why not), its checkpoints, and what the lines that load each output need. */
  exportOptions: { kind: 'call', params: z.object({ runId }).strict() },
  /** How far the run's export in progress has got; no stage when none is running. */
  exportProgress: { kind: 'call', params: z.object({ runId }).strict() },
  /** The desktop app: show a folder an export wrote (or one in the runs folder) in the system's file manager. */
  revealPath: { kind: 'call', params: z.object({ path }).strict() },
  /** Spectra of every adaptable matrix (or those matching `layers`), one event per matrix, then the report. */
  analyseLayers: { kind: 'stream', params: z.object({ path, layers: regex.optional(), valuesOnly: z.boolean().optional() }).strict() },
  /** A run's events from index `after` + 1 on (all of them with -1): replay, then live until it ends. */
  runEvents: { kind: 'stream', params: z.object({ runId, after: z.number().int().min(-1).optional() }).strict() },
  /**
   * The prompt continued greedily by the run's base model, then by the run's adapted model (at `checkpoint`:
   * by default the best, else the last), with the text so far as it grows; closing the stream cancels it.
   */
  generatePreview: {
    kind: 'stream',
    params: z
      .object({
        runId,
        checkpoint: z.union([z.enum(['best', 'last']), z.number().int().min(0)]).optional(),
        prompt: z.string().min(1, 'the prompt is empty').max(generationLimits.promptChars),
        maxNewTokens: z.number().int().min(1).max(generationLimits.maxNewTokens)
      })
      .strict()
  }
} as const

export type MethodName = keyof typeof methods
export type CallName = { [K in MethodName]: (typeof methods)[K]['kind'] extends 'call' ? K : never }[MethodName]
export type StreamName = { [K in MethodName]: (typeof methods)[K]['kind'] extends 'stream' ? K : never }[MethodName]
export type Params<M extends MethodName> = z.input<(typeof methods)[M]['params']>

/** What each call answers. */
export interface CallResults {
  appInfo: AppInfo
  openModel: ModelSummary
  recentModels: RecentModel[]
  cachedModels: CachedModels
  downloadModel: HubDownloadSummary
  downloads: HubDownloadSummary[]
  cancelDownload: HubDownloadSummary
  wizardState: { state?: WizardState; savedAt?: string }
  saveWizardState: { savedAt: string }
  runConfig: { config: TrainConfig }
  pickPath: { path?: string }
  checkData: DataCheckResult
  listRuns: RunSummary[]
  startRun: RunSummary
  pauseRun: RunSummary
  resumeRun: RunSummary
  cancelRun: RunSummary
  continueRun: RunSummary
  deleteRun: { deleted: string }
  updateRun: RunSummary
  exportRun: ExportSummary
  exportOptions: import('./exportOptions').ExportOptionsSummary
  exportProgress: import('./exportOptions').ExportProgressSummary
  revealPath: { revealed: string }
}

/** What each stream emits. */
export interface StreamEvents {
  analyseLayers:
    | { type: 'progress'; done: number; total: number; layer?: LayerSpectrum; error?: string }
    | { type: 'report'; report: InspectReport }
  runEvents: { type: 'event'; event: TrainEvent } | { type: 'status'; run: RunSummary }
  generatePreview:
    | { type: 'stage'; stage: 'base' | 'restore' | 'adapted' }
    | { type: 'text'; side: 'base' | 'adapted'; text: string; tokens: number }
    | { type: 'result'; preview: GenerationPreview }
}

/** The typed API the renderer's stores use; both transports implement it. */
export interface SivaApi {
  call<M extends CallName>(method: M, params: Params<M>): Promise<CallResults[M]>
  /** Returns a function that closes the stream; `onEnd` gets an error message when it failed. */
  stream<M extends StreamName>(method: M, params: Params<M>, onEvent: (event: StreamEvents[M]) => void, onEnd?: (error?: string) => void): () => void
}

// ---------------------------------------------------------------- wire messages

/** Renderer → back end. */
export type ClientMessage =
  | { type: 'call'; id: number; method: string; params: unknown }
  | { type: 'stream'; id: number; method: string; params: unknown }
  | { type: 'close'; id: number }

/** Back end → renderer. */
export type ServerMessage =
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; message: string }
  | { type: 'event'; id: number; event: unknown }
  | { type: 'end'; id: number; error?: string }

export const clientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('call'), id: z.number().int().min(0), method: z.string().max(64), params: z.unknown() }),
  z.object({ type: z.literal('stream'), id: z.number().int().min(0), method: z.string().max(64), params: z.unknown() }),
  z.object({ type: z.literal('close'), id: z.number().int().min(0) })
])

/** Electron IPC: the same messages as the WebSocket, on one channel each way. */
export const channels = {
  toMain: 'siva:to-main',
  toRenderer: 'siva:to-renderer'
} as const
