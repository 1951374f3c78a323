import type { LearningRateSchedule } from './training'

/**
 * The optimiser and bookkeeping settings a run starts with when nobody sets them: the engine's
 * defaultTrainConfig (src/main/engine/training/loop.ts) fills them in from here, and the Train step shows
 * them before they are edited.
 */
export const trainingDefaults = {
  gradientAccumulation: 1,
  weightDecay: 0,
  schedule: 'linear' as LearningRateSchedule,
  warmupRatio: 0.06,
  maxGradNorm: 1,
  checkpointEvery: 50
} as const satisfies Record<string, number | LearningRateSchedule>

export const learningRateSchedules: readonly LearningRateSchedule[] = ['linear', 'cosine', 'constant']
