/**
 * What a run's 'stage' event means in words: one wording for the CLI's progress line and the app's
 * Train step. Pure; reads logs of any age (a stage name it does not know is shown as it is).
 */
import type { TrainStage } from './training'

/** A 'stage' event's fields. A total of 0 means the work is not counted. */
export interface StageProgress {
  stage: TrainStage
  done: number
  total: number
  detail?: string
  /** Seconds the stage has left, where the engine can tell (the SVDs: by their flops so far). */
  etaSeconds?: number
}

export interface StageWords {
  /** What the run is doing: "Computing SVDs", "Evaluating". */
  title: string
  /** How far, when counted: "2/4 layers", "3/12 batches", "45 %". */
  count?: string
  /** Done of total, 0–1, when counted. */
  fraction?: number
  /** Which part: the layer being decomposed, the data being encoded, the step evaluated. */
  detail?: string
  /** Seconds left in this stage, when the engine estimates it (each side formats it as its step ETA). */
  etaSeconds?: number
}

const titles: Record<TrainStage, string> = {
  data: 'Preparing data',
  svd: 'Computing SVDs',
  model: 'Building the model',
  training: 'Training',
  evaluating: 'Evaluating',
  saving: 'Saving checkpoint',
  finishing: 'Finishing'
}

export function stageWords(s: StageProgress): StageWords {
  const counted = s.total > 0 && Number.isFinite(s.done) && Number.isFinite(s.total)
  const fraction = counted ? Math.min(1, Math.max(0, s.done / s.total)) : undefined
  const words: StageWords = { title: (titles as Record<string, string | undefined>)[s.stage] ?? s.stage }
  // LoRA makes its adapters without an SVD: the model stage then counts layers.
  if (s.stage === 'model' && counted) words.title = 'Adding adapters'
  if (counted) {
    switch (s.stage) {
      case 'data':
        // Bytes read (text) or images checked: a share is what means something.
        words.count = `${Math.floor(fraction! * 100)} %`
        break
      case 'svd':
      case 'model':
        words.count = `${s.done}/${s.total} ${s.total === 1 ? 'layer' : 'layers'}`
        break
      case 'evaluating':
        words.count = `${s.done}/${s.total} ${s.total === 1 ? 'batch' : 'batches'}`
        break
      case 'training':
      case 'saving':
      case 'finishing':
        break
      default:
        words.count = `${s.done}/${s.total}`
    }
    if (words.count !== undefined) words.fraction = fraction!
  }
  if (s.detail) words.detail = s.detail
  if (s.etaSeconds !== undefined && Number.isFinite(s.etaSeconds) && s.etaSeconds >= 0) words.etaSeconds = s.etaSeconds
  return words
}

/** One line: "Evaluating 3/12 batches (at step 30)", "Computing SVDs 2/4 layers (…attention.self.value)". */
export function stageSentence(s: StageProgress, withDetail = true): string {
  const w = stageWords(s)
  const head = w.count ? `${w.title} ${w.count}` : w.title
  return withDetail && w.detail ? `${head} (${w.detail})` : head
}
