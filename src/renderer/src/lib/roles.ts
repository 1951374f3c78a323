import type { TargetRole } from './targetSelection'

/** Block number of a tensor or module name: the first number between dots (`encoder.layer.3.…` → 3). */
export function blockOf(name: string): number | undefined {
  const match = /(?:^|\.)(\d+)\./.exec(name)
  return match ? Number(match[1]) : undefined
}

const rolePatterns: [RegExp, TargetRole][] = [
  [/(?:^|\.)(?:query|q_proj|query_proj|c_attn\.weight\.q|c_attn\.q|q)(?:\.weight)?$/, 'query'],
  [/(?:^|\.)(?:key|k_proj|key_proj|c_attn\.weight\.k|c_attn\.k|k)(?:\.weight)?$/, 'key'],
  [/(?:^|\.)(?:value|v_proj|value_proj|c_attn\.weight\.v|c_attn\.v|v)(?:\.weight)?$/, 'value'],
  [/(?:attention\.output\.dense|attn\.c_proj|o_proj|out_proj)(?:\.weight)?$/, 'attention.output'],
  [/(?:intermediate\.dense|mlp\.c_fc|fc1|up_proj|gate_proj)(?:\.weight)?$/, 'mlp.in'],
  [/(?:output\.dense|mlp\.c_proj|fc2|down_proj)(?:\.weight)?$/, 'mlp.out']
]

/**
 * The role of a matrix known only by name (Inspect reads any safetensors file, without a model family):
 * the usual Hugging Face names of BERT, RoBERTa, DeBERTa (query_proj, key_proj, value_proj), ViT, GPT-2 and
 * Llama-like models; undefined otherwise.
 */
export function guessRole(name: string): TargetRole | undefined {
  for (const [pattern, role] of rolePatterns) if (pattern.test(name)) return role
  return undefined
}
