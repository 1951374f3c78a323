import type { TrainConfig, TrainEvent } from '../../shared/training'

/** Main → training worker. */
export type TrainingCommand =
  | { type: 'start'; runDir: string; config?: TrainConfig; resume?: boolean; svdCacheDir?: string; svdWorkers?: number; versions?: Record<string, string>; lockToken?: string }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'cancel' }

/** Training worker → main. Events carry plain arrays (they are small); the run folder has them too. */
export type TrainingReport =
  | { type: 'event'; event: TrainEvent }
  | { type: 'done'; outcome: 'finished' | 'cancelled' }
  | { type: 'failed'; message: string; name: string }
