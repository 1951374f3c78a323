import type { ColumnMapping } from './columns'
import type { DuplicateSummary } from './duplicates'
import type { ClassCount, NumericSummary } from './labels'
import type { LengthSummary } from './lengthHistogram'
import type { DataProblem } from './problems'

/** What a dataset is for; each task has its own validator and the same report shape. */
export type DataTask = 'classification' | 'regression' | 'causal-lm' | 'image-classification'

/** Token counts of every usable row, with the checkpoint's own tokenizer. */
export interface TokenSummary extends LengthSummary {
  /** The limit rows were measured against (the tokenizer's model_max_length unless chosen). */
  maxLength: number
  /** Rows longer than maxLength: they will be truncated. */
  tooLong: number
  /** `atLeast`: the row was tokenised only as far as max_length can use (TextTokenizer.encode), so `tokens` is a lower bound. */
  longest?: { row: number; tokens: number; atLeast?: true }
  /**
   * Chat data: every row's tokens after the limit cut them (what training reads), the tokens among them
   * with loss (assistant turns through their end-of-turn token), and the rows whose assistant turns all
   * lie past the limit (they teach nothing).
   */
  kept?: number
  trained?: number
  untrainedRows?: number
}

/** Images: how many were read, and the range of their sizes before resizing. */
export interface ImageSummary {
  count: number
  minWidth: number
  minHeight: number
  maxWidth: number
  maxHeight: number
  /** Images per container format (jpeg, png, webp). */
  formats: Record<string, number>
}

export interface ValidationSummary {
  /** The columns used, as far as they could be resolved (text tasks and image CSVs). */
  columns: Partial<ColumnMapping> & { prompt?: string; completion?: string; path?: string; messages?: string }
  /** Classification: each class, most frequent first. */
  classes?: ClassCount[]
  /** Regression: the range of the targets. */
  labels?: NumericSummary
  /** Characters of text (plus the second text, for pairs; prompt plus completion for causal LM) per usable row. */
  textLength?: LengthSummary
  /** Present when a tokenizer was given. */
  tokens?: TokenSummary
  images?: ImageSummary
  duplicates: DuplicateSummary
}

export interface ValidationReport {
  /** The file or folder checked. */
  file: string
  task: DataTask
  /** Records read (rows with a format error are not records); images found, for image folders. */
  rows: number
  problems: DataProblem[]
  summary: ValidationSummary
  /** False when any problem is an error: training on the data as it is would fail or mislead. */
  usable: boolean
}
