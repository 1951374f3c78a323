import type { TensorInfo } from '../io'
import type { SkippedTensor } from '../../../shared/spectra'
import type { NamePattern } from '../../../shared/pattern/safePattern'

/** One matrix to analyse: a whole 2-D tensor, or one column block of a fused one. */
export interface MatrixPlan {
  /** Analysed name: the tensor name, plus `.q`/`.k`/`.v` for a block of GPT-2's fused c_attn. */
  name: string
  tensor: TensorInfo
  /** Shape of the analysed matrix (a block is [in, out]). */
  shape: [number, number]
  /** For a block: its columns [start, end) inside the stored [in, 3·out] matrix. */
  columns?: [number, number]
}

export interface PlanOptions {
  /** Only matrices whose analysed name matches (tested against names with their .q/.k/.v suffix). */
  layers?: NamePattern
  /** Embedding tables are 2-D but not projections; they are skipped unless asked for. */
  includeEmbeddings?: boolean
  /** `model_type` from config.json, when known: it decides how fused tensors are split. */
  modelType?: string
}

const vectorReason = 'one row or column: a vector, with one singular value, not a matrix'

const floatDtypes = new Set(['F64', 'F32', 'F16', 'BF16'])

/** Names of lookup tables, across the families we read (GPT-2, BERT/RoBERTa, ViT, Llama-style, tfjs models), and the output embedding (lm_head) a vocabulary wide. */
const embeddingName = /(^|[._/])(wte|wpe|embeddings?|word_embeddings|position_embeddings|token_type_embeddings|shared|embed_tokens|lm_head)([._/]|$)/i

/**
 * GPT-2's Conv1D `c_attn` stores q|k|v side by side as [in, 3·out]. Each block is its own matrix
 * with its own spectrum (DESIGN.md §1), so it is analysed per block.
 */
function isFusedQkv(tensor: TensorInfo, shape: readonly number[], modelType: string | undefined): boolean {
  const [rows, cols] = shape
  if (rows === undefined || cols !== 3 * rows) return false
  // The sentence encoder's 1×1 convolution kernel holds q|k|v the same way ([1, 1, in, 3·in]).
  if (modelType === 'use-lite') return /\/qkv_transform_single\/kernel\//.test(tensor.name)
  if (modelType !== undefined && modelType !== 'gpt2') return false
  return /(^|\.)attn\.c_attn\.weight$/.test(tensor.name)
}

/** A 1×1 convolution kernel [1, 1, in, out] is the matrix [in, out]: unit axes in front are dropped. */
function matrixShape(shape: readonly number[]): readonly number[] {
  let start = 0
  while (shape.length - start > 2 && shape[start] === 1) start++
  return shape.slice(start)
}

export function planMatrices(tensors: readonly TensorInfo[], options: PlanOptions = {}): { matrices: MatrixPlan[]; skipped: SkippedTensor[] } {
  const matrices: MatrixPlan[] = []
  const skipped: SkippedTensor[] = []
  const skip = (tensor: TensorInfo, reason: string): void => {
    skipped.push({ name: tensor.name, shape: [...tensor.shape], dtype: tensor.dtype, reason })
  }
  for (const tensor of tensors) {
    const shape = matrixShape(tensor.shape)
    if (shape.length !== 2) {
      skip(tensor, shape.length === 1 ? '1-D tensor (bias or norm), not a matrix' : `${shape.length}-D tensor, not a matrix`)
      continue
    }
    if (!floatDtypes.has(tensor.dtype)) {
      skip(tensor, `${tensor.dtype} tensor, not floating-point weights`)
      continue
    }
    const [rows, cols] = shape as [number, number]
    if (rows === 0 || cols === 0) {
      skip(tensor, 'empty matrix')
      continue
    }
    if (rows === 1 || cols === 1) {
      // A vector stored with a unit axis (the sentence encoder's 1×128 timing scales, a regression head's
      // 1×768 weight): one singular value, no spectrum to look at.
      skip(tensor, vectorReason)
      continue
    }
    if (!options.includeEmbeddings && embeddingName.test(tensor.name)) {
      skip(tensor, 'embedding table, not a projection (--include-embeddings analyses it)')
      continue
    }
    const candidates: MatrixPlan[] = []
    if (isFusedQkv(tensor, shape, options.modelType)) {
      const width = rows
      ;(['q', 'k', 'v'] as const).forEach((part, i) =>
        candidates.push({ name: `${tensor.name}.${part}`, tensor, shape: [width, width], columns: [i * width, (i + 1) * width] })
      )
    } else {
      candidates.push({ name: tensor.name, tensor, shape: [rows, cols] })
    }
    const chosen = options.layers ? candidates.filter((c) => options.layers!.test(c.name)) : candidates
    if (chosen.length === 0) skip(tensor, 'does not match --layers')
    matrices.push(...chosen)
  }
  return { matrices, skipped }
}

/** Copy columns [start, end) of a row-major rows×cols matrix into a new row-major matrix. */
export function columnBlock(data: Float64Array, rows: number, cols: number, start: number, end: number): Float64Array {
  const width = end - start
  const out = new Float64Array(rows * width)
  for (let i = 0; i < rows; i++) out.set(data.subarray(i * cols + start, i * cols + end), i * width)
  return out
}
