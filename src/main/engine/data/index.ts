export { resolveColumns, type ColumnChoice, type ColumnMapping, type ResolvedColumns } from './columns'
export type { DuplicateSummary } from './duplicates'
export type { ClassCount, NumericSummary } from './labels'
export type { LengthBucket, LengthSummary } from './lengthHistogram'
export type { DataProblem, DataProblemCode, ProblemSink, Severity } from './problems'
export { formatOf, readRecords, type DataFormat, type DataRecord, type ReadOptions } from './records'
export {
  validateTextClassification,
  type TextTask,
  type ValidateOptions,
  type ValidationReport,
  type ValidationSummary
} from './validate'
export { TextTokenizer, TokenizerLoadError, type EncodeOptions, type EncodedText } from './tokenizer'
export { epochOrder, seededRandom, shuffleInPlace, stratifiedSplit, type Split } from './split'
