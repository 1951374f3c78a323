import { join } from 'node:path'
import { writeJsonAtomically, writeSafetensors, type TensorToWrite } from '../io'
import type { AdaptableLinear, ModelTask } from '../models/types'
import type { LowRank } from '../peft'
import type { TrainedTensor } from './restoreRun'
import { withModelCard } from './modelCard'

/**
 * The same update as a PEFT LoRA adapter (`adapter_config.json` + `adapter_model.safetensors`), which
 * PEFT, vLLM and TGI load. Any low-rank ΔW = B·A is a LoRA: for SiVA, lora_B = U_b diag(δ) and
 * lora_A = V_bᵀ with lora_alpha = r = k, so PEFT's scaling alpha/r is 1. Targets that share one module
 * (GPT-2's c_attn holds q, k and v) become one LoRA whose rank is the sum of theirs: lora_A stacks their
 * A's, lora_B places each B on its block of output rows.
 */

export interface PeftModule {
  /** Module name in the model with its head, as PEFT's target_modules matches it. */
  module: string
  rank: number
  /** [rank, in] and [out, rank] as float32, row-major: what PEFT stores. */
  loraA: Float32Array
  loraB: Float32Array
  inFeatures: number
  outFeatures: number
}

/** The module a target belongs to: itself, or for a block of a fused tensor, the fused module. */
export function moduleOf(target: AdaptableLinear): string {
  return target.slice ? target.name.slice(0, target.name.lastIndexOf('.')) : target.name
}

/** Group the targets' factors into PEFT modules. `storedShape` gives each weight tensor's stored shape. */
export function peftModules(updates: { target: AdaptableLinear; factors: LowRank }[], storedShape: (tensor: string) => readonly number[]): PeftModule[] {
  const groups = new Map<string, { target: AdaptableLinear; factors: LowRank }[]>()
  for (const update of updates) {
    const name = moduleOf(update.target)
    groups.set(name, [...(groups.get(name) ?? []), update])
  }
  return [...groups.entries()].map(([module, members]) => {
    const first = members[0]!.target
    const shape = storedShape(first.weightTensor)
    // nn.Linear stores [out, in]; GPT-2's Conv1D [in, out].
    const [outFeatures, inFeatures] = first.conv1d ? [shape[1]!, shape[0]!] : [shape[0]!, shape[1]!]
    const rank = members.reduce((sum, m) => sum + m.factors.rank, 0)
    const loraA = new Float32Array(rank * inFeatures)
    const loraB = new Float32Array(outFeatures * rank)
    let offset = 0
    for (const { target, factors } of members) {
      const { outFeatures: m, inFeatures: n } = target
      if (n !== inFeatures) throw new Error(`${target.name}: ${n} inputs, but its module ${module} takes ${inFeatures}`)
      const [start] = target.slice ?? [0, m]
      loraA.set(factors.a, offset * inFeatures)
      for (let i = 0; i < m; i++) for (let j = 0; j < factors.rank; j++) loraB[(start + i) * rank + offset + j] = factors.b[i * factors.rank + j]!
      offset += factors.rank
    }
    return { module, rank, loraA, loraB, inFeatures, outFeatures }
  })
}

const taskTypes: Partial<Record<ModelTask, string>> = { classification: 'SEQ_CLS', regression: 'SEQ_CLS', 'causal-lm': 'CAUSAL_LM' }

/**
 * Write a PEFT LoRA adapter into `dir`. `head` tensors go in as PEFT saves `modules_to_save`
 * (`base_model.model.<tensor name>`), their modules listed in modules_to_save.
 */
/**
 * The ranks vLLM's --max-lora-rank accepts (vllm.config.LoRAConfig, 2024–2025): an adapter serves when its r
 * is at most the one chosen.
 */
export const vllmMaxLoraRanks: readonly number[] = [1, 8, 16, 32, 64, 128, 256, 320, 512]

/** The smallest --max-lora-rank vLLM accepts for an adapter of rank r; undefined above 512. */
export function vllmMaxLoraRank(rank: number): number | undefined {
  return vllmMaxLoraRanks.find((allowed) => allowed >= rank)
}

/**
 * Every module zero-padded to the largest rank among them: lora_A gains zero rows and lora_B zero columns,
 * so B·A — the update — is exactly what it was, and one r with lora_alpha = r (scaling 1) holds for all.
 * That is what vLLM (one scale lora_alpha / r for every module; rank_pattern and alpha_pattern ignored) and
 * llama.cpp's convert_lora_to_gguf.py (one global alpha) can read correctly.
 */
export function padToUniformRank(modules: readonly PeftModule[]): PeftModule[] {
  const rank = Math.max(...modules.map((m) => m.rank))
  return modules.map((m) => {
    if (m.rank === rank) return m
    const loraA = new Float32Array(rank * m.inFeatures)
    loraA.set(m.loraA)
    const loraB = new Float32Array(m.outFeatures * rank)
    for (let i = 0; i < m.outFeatures; i++) loraB.set(m.loraB.subarray(i * m.rank, (i + 1) * m.rank), i * rank)
    return { ...m, rank, loraA, loraB }
  })
}

export async function writePeftLora(
  dir: string,
  given: PeftModule[],
  options: { task: ModelTask; baseModel: string; fanInFanOut: boolean; basePrefix: string; head: TrainedTensor[]; architecture?: string; modelType?: string; modelCard?: string; uniformRank?: boolean }
): Promise<{ rank: number; rankPattern: Record<string, number>; files: string[] }> {
  if (given.length === 0) throw new Error('no adapted modules to write as LoRA')
  const modules = options.uniformRank ? padToUniformRank(given) : given
  // The most common rank is `r`; others go in rank_pattern (and alpha_pattern, so every scaling stays 1).
  const counts = new Map<number, number>()
  for (const m of modules) counts.set(m.rank, (counts.get(m.rank) ?? 0) + 1)
  const rank = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0]
  const rankPattern: Record<string, number> = {}
  // Pattern keys without the base prefix ("encoder.layer.0.attention.self.query"): PEFT versions differ on
  // whether a key must follow a dot, and such a key matches under both readings while staying unique.
  for (const m of modules) if (m.rank !== rank) rankPattern[patternKey(m.module, options.basePrefix)] = m.rank
  const headModules = [...new Set(options.head.map((t) => headModule(t.name, options.basePrefix)))]
  const tensors: TensorToWrite[] = modules.flatMap((m) => [
    { name: `base_model.model.${m.module}.lora_A.weight`, dtype: 'F32' as const, shape: [m.rank, m.inFeatures], data: m.loraA },
    { name: `base_model.model.${m.module}.lora_B.weight`, dtype: 'F32' as const, shape: [m.outFeatures, m.rank], data: m.loraB }
  ])
  for (const t of options.head) tensors.push({ name: `base_model.model.${t.name}`, dtype: 'F32', shape: t.shape, data: t.values })
  await writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors, { format: 'pt' })
  const taskType = taskTypes[options.task] ?? null
  // Every field peft 0.12's LoraConfig.save_pretrained writes, in its order (sorted keys). Without a task
  // type (image classification) peft records the class to build in auto_mapping, which AutoPeftModel
  // needs to open the folder on its own.
  const config: Record<string, unknown> = {
    alpha_pattern: rankPattern,
    auto_mapping: taskType === null ? autoMapping(options.architecture, options.modelType) : null,
    base_model_name_or_path: options.baseModel,
    bias: 'none',
    fan_in_fan_out: options.fanInFanOut,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: rank,
    lora_dropout: 0,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: headModules.length > 0 ? headModules : null,
    peft_type: 'LORA',
    r: rank,
    rank_pattern: rankPattern,
    revision: null,
    target_modules: modules.map((m) => m.module),
    task_type: taskType,
    use_dora: false,
    use_rslora: false
  }
  await writeJsonAtomically(join(dir, 'adapter_config.json'), config)
  // README.md, as peft's save_pretrained writes one beside the adapter (modelCard.ts).
  const files = await withModelCard(dir, options.modelCard, ['adapter_config.json', 'adapter_model.safetensors'])
  return { rank, rankPattern, files }
}

/**
 * peft's auto_mapping: the transformers class and the module that defines it (transformers names a
 * model_type's module by replacing '-' with '_': deberta-v2 → transformers.models.deberta_v2.modeling_deberta_v2).
 */
function autoMapping(architecture: string | undefined, modelType: string | undefined): { base_model_class: string; parent_library: string } {
  if (!architecture || !modelType) throw new Error('a PEFT adapter without a task type needs the transformers class it applies to, and this model names none')
  const module = modelType.replace(/-/g, '_')
  return { base_model_class: architecture, parent_library: `transformers.models.${module}.modeling_${module}` }
}

function patternKey(module: string, basePrefix: string): string {
  return module.startsWith(`${basePrefix}.`) ? module.slice(basePrefix.length + 1) : module
}

/** The module PEFT wraps to save a head tensor: the top-level head (`classifier`, `score`), or a new part of the base (`bert.pooler.dense`). */
function headModule(tensor: string, basePrefix: string): string {
  const path = tensor.split('.').slice(0, -1)
  return path[0] === basePrefix ? path.join('.') : path[0]!
}
