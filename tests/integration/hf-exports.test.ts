import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { applyAdapter } from '../../src/main/engine/export'
import { exportRun, type ExportResult } from '../../src/main/engine/export/exportRun'
import { defaultTrainConfig, trainRun } from '../../src/main/engine/training/loop'
import type { TrainConfig, TrainMethod, TrainTask } from '../../src/shared/training'
import { inProcessDecompose as decompose } from '../helpers/decompose'
import { hfFixture, hfFixtures, hfReference, type CheckExportReport } from '../helpers/hfref'
import { tempDir } from '../helpers/paths'

// Every family × method × dtype the engine exports, trained for a few steps on checkpoints the real
// transformers wrote (hfref's make_fixtures.py, and tests/reference/hf_export_inputs.py for F16, BF16 in
// shards, and a DeBERTa with an MLM head), then loaded by the REAL transformers 4.44 and peft 0.12
// (../shared/hfref/check_export.py): the merged folder in its task's AutoModelFor… class with no missing,
// unexpected or mismatched weight and no warning about weights; the PEFT adapter on its base with
// PeftModel, read back tensor for tensor, compared with what peft's own save_pretrained writes, opened
// by AutoPeftModel, and giving the merged model's logits, before and after merge_and_unload.

interface Case {
  base: string
  task: TrainTask
  method: TrainMethod
  /** Which data file (in the inputs folder, see hf_export_inputs.py): classify.csv, two.csv, regress.csv, eos.csv, lm.txt, lm.csv, images. */
  data: string
  /** The base stores F16 or BF16: compare at that dtype's rounding (hfref's README). */
  dtype?: 'F16' | 'BF16'
  /**
   * Also recompute the run's last evaluation with transformers on the merged export from the run's own
   * token ids (hfref's check_eval.py): the data doubles as the validation set.
   */
  evaluate?: boolean
  /** Also write the SiVA adapter (compact) and put it back onto the base: the same files as the merged export, byte for byte. */
  apply?: boolean
  /** The PEFT adapter with one rank for every module (zero-padded; for vLLM and llama.cpp). */
  uniformRank?: boolean
}

const spectral: readonly TrainMethod[] = ['siva', 'svdiff', 'topk']
const withLowRank: readonly TrainMethod[] = ['siva', 'svdiff', 'topk', 'lora']

let inputs: string

function basePath(name: string): string {
  const generated = join(inputs, name)
  return existsSync(join(generated, 'config.json')) ? generated : hfFixture(name)
}

function caseName(c: Case): string {
  return `${c.base} ${c.task} ${c.method}${c.data === 'two.csv' ? ' (2 labels)' : c.data === 'eos.csv' ? ' (<|endoftext|> in the texts)' : ''}${c.evaluate ? ', evaluation recomputed' : ''}${c.apply ? ', adapter applied' : ''}${c.uniformRank ? ', one rank for every module' : ''}`
}

interface Outcome {
  exported: ExportResult
  report: CheckExportReport
  evaluation?: CheckExportReport
}

/** Trains each case for a few steps, exports merged (+ PEFT LoRA where there is a low-rank update), then checks them all in one python process. */
/** Per case with `apply`: the files of the merged export and of the applied adapter that differ (none expected). */
const applied = new Map<string, string[]>()

function sameFiles(a: string, b: string): string[] {
  const names = (dir: string): string[] => readdirSync(dir).filter((f) => f !== '.siva-export').sort()
  const differ = names(a).filter((f) => !existsSync(join(b, f)) || !readFileSync(join(a, f)).equals(readFileSync(join(b, f))))
  return [...differ, ...names(b).filter((f) => !existsSync(join(a, f)))]
}

async function runCases(family: string, cases: Case[]): Promise<Map<string, Outcome>> {
  const scratch = tempDir(`hf-exports-${family}`)
  const exported: ExportResult[] = []
  const checks: string[][] = []
  for (const [i, c] of cases.entries()) {
    const runDir = join(scratch, `run-${i}`)
    const config: TrainConfig = defaultTrainConfig({
      model: basePath(c.base),
      data: join(inputs, c.data),
      task: c.task,
      method: c.method,
      maxSteps: 4,
      batchSize: 8,
      // Large steps, so that the adapter moves the logits measurably (check_export's --min-effect).
      lr: spectral.includes(c.method) ? 0.05 : c.method === 'lora' ? 0.02 : c.method === 'full' ? 1e-3 : 0.01,
      headLr: 0.02,
      seed: 7,
      backend: 'wasm',
      ...(c.data === 'regress.csv' && { columns: { label: 'score' } }),
      ...(c.evaluate && { validation: join(inputs, c.data) }),
      ...(c.task === 'image-classify' ? {} : { maxLength: 32 })
    })
    for await (const event of trainRun(config, runDir, { decompose })) {
      if (event.type === 'error') throw new Error(`${caseName(c)}: training failed: ${event.message}`)
    }
    const peft = withLowRank.includes(c.method)
    const outputs = { merged: join(scratch, `merged-${i}`), ...(peft && { 'peft-lora': join(scratch, `peft-${i}`) }) }
    const result = await exportRun({ runDir, outputs: { ...outputs, ...(c.apply && { adapter: join(scratch, `adapter-${i}`) }) }, checkpoint: 'last', compact: true, ...(c.uniformRank && { uniformRank: true }) }, { decompose })
    exported.push(result)
    if (c.apply) {
      const again = join(scratch, `applied-${i}`)
      await applyAdapter(join(scratch, `adapter-${i}`), basePath(c.base), again, { decompose })
      applied.set(caseName(c), sameFiles(outputs.merged, again))
    }
    const argv = [outputs.merged, '--task', c.task, '--min-effect', '1e-3']
    if (peft) argv.push('--peft', outputs['peft-lora']!, '--base', basePath(c.base))
    if (c.task === 'image-classify') argv.push('--images', join(inputs, 'images'))
    else argv.push('--texts', join(inputs, 'texts.txt'))
    if (c.dtype === 'F16') argv.push('--tol', '5e-3', '--weight-tol', '5e-4')
    if (c.dtype === 'BF16') argv.push('--tol', '2e-2', '--weight-tol', '4e-3')
    checks.push(argv)
    if (c.evaluate) checks.push(['check_eval', runDir, outputs.merged, '--task', c.task, '--validation', join(inputs, c.data), '--tol', c.dtype ? '2e-3' : '1e-4'])
  }
  const reports = hfReference<CheckExportReport[]>('check_exports.py', [], checks)
  const outcomes = new Map<string, Outcome>()
  let at = 0
  for (const [i, c] of cases.entries()) {
    const report = reports[at++]!
    outcomes.set(caseName(c), { exported: exported[i]!, report, ...(c.evaluate && { evaluation: reports[at++]! }) })
  }
  return outcomes
}

/** transformers' or peft's words about weights while loading the merged folder (there must be none). */
function mergedWeightMessages(report: CheckExportReport): string[] {
  return report.messages.filter((m) => m.startsWith('[merged]') && /weight|initializ|were not used|mismatch/i.test(m))
}

/** adapter_config.json's ranks and the lora_A / lora_B shapes of a PEFT export. */
function peftRanks(dir: string): { r: number; alpha: number; pattern: Record<string, number>; alphaPattern: Record<string, number>; shapes: number[][] } {
  const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as { r: number; lora_alpha: number; rank_pattern: Record<string, number>; alpha_pattern: Record<string, number> }
  const bytes = readFileSync(join(dir, 'adapter_model.safetensors'))
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, { shape?: number[] }>
  const shapes = Object.entries(header).filter(([name]) => /lora_[AB]\.weight$/.test(name)).map(([, t]) => t.shape!)
  return { r: config.r, alpha: config.lora_alpha, pattern: config.rank_pattern, alphaPattern: config.alpha_pattern, shapes }
}

function expectClean(outcome: Outcome, c: Case): void {
  const { report, exported, evaluation } = outcome
  if (c.uniformRank) {
    // One r and lora_alpha = r for every module: vLLM's single scale alpha / r is then each module's own (1).
    const peft = peftRanks(exported.outputs.find((o) => o.kind === 'peft-lora')!.dir)
    expect([peft.pattern, peft.alphaPattern, peft.alpha]).toEqual([{}, {}, peft.r])
    for (const [i, shape] of peft.shapes.entries()) expect(shape[i % 2 === 0 ? 0 : 1], `lora tensor ${i}`).toBe(peft.r)
  }
  if (c.apply) expect(applied.get(caseName(c)), `${caseName(c)}: files that --apply writes differently from --merged`).toEqual([])
  if (evaluation) {
    const said = `${caseName(c)}: ${String(evaluation['summary'])}\n  problems: ${evaluation.problems.join('\n  ')}\n  notes: ${evaluation.notes.join('\n  ')}`
    expect(evaluation.problems, said).toEqual([])
  }
  const summary = `${caseName(c)}: ${String(report['summary'])}\n  problems: ${report.problems.join('\n  ')}\n  notes: ${report.notes.join('\n  ')}`
  expect(report.problems, summary).toEqual([])
  expect(report.ok).toBe(true)
  expect(mergedWeightMessages(report), summary).toEqual([])
  expect(Object.values(report.merged_loading_info ?? {}).flat(), summary).toEqual([])
  if (withLowRank.includes(c.method)) {
    // The adapter moved the logits (--min-effect 1e-3), and base + adapter gave the merged model's.
    expect(report.lora_effect_on_logits!).toBeGreaterThanOrEqual(1e-3)
    expect(String(report.auto_peft), summary).toMatch(/works/)
    // What transformers itself reports as unused when the base is loaded into the task's class is exactly
    // what the merged export left out.
    const unused = (report.base_loading_info?.['unexpected_keys'] ?? []).map(String).sort()
    const merged = exported.outputs.find((o) => o.kind === 'merged')!
    const omitted = [...(merged.omitted ?? [])].sort()
    expect(omitted, summary).toEqual(unused)
  }
}

function familyCases(family: string, cases: Case[]): void {
  describe(`${family}: merged and PEFT exports load cleanly in the real transformers and peft`, () => {
    let outcomes: Map<string, Outcome>
    beforeAll(async () => {
      outcomes = await runCases(family, cases)
    }, 600_000)
    for (const c of cases) {
      it(caseName(c), () => expectClean(outcomes.get(caseName(c))!, c))
    }
  })
}

beforeAll(() => {
  inputs = tempDir('hf-export-inputs')
  hfReference('hf_export_inputs.py', [hfFixtures(), inputs])
}, 300_000)

/** The four methods with a low-rank update on one base; SiVA's run also has its evaluation recomputed by transformers. */
const methods = (base: string, task: TrainTask, data: string): Case[] => withLowRank.map((method) => ({ base, task, method, data, ...(method === 'siva' && { evaluate: true }) }))

familyCases('gpt2', [
  ...methods('gpt2-lm', 'classify', 'classify.csv'),
  { base: 'gpt2-cls', task: 'classify', method: 'siva', data: 'two.csv' },
  // transformers pools the token before the first pad id, which the export sets to end-of-text: the
  // project's predictions must be transformers' even where a text holds that token.
  { base: 'gpt2-cls', task: 'classify', method: 'siva', data: 'eos.csv', evaluate: true, apply: true },
  { base: 'gpt2-cls', task: 'causal-lm', method: 'siva', data: 'lm.csv', evaluate: true },
  { base: 'gpt2-lm', task: 'regress', method: 'siva', data: 'regress.csv' },
  { base: 'gpt2-lm-f16', task: 'causal-lm', method: 'lora', data: 'lm.txt', dtype: 'F16' },
  { base: 'gpt2-cls-f16', task: 'classify', method: 'siva', data: 'classify.csv', dtype: 'F16' },
  { base: 'gpt2-lm-bf16-sharded', task: 'causal-lm', method: 'siva', data: 'lm.txt', dtype: 'BF16' }
])

familyCases('bert', [
  ...methods('bert-mlm', 'classify', 'classify.csv').map((c) => (c.method === 'siva' ? { ...c, apply: true } : c)),
  { base: 'bert-cls', task: 'classify', method: 'siva', data: 'two.csv' },
  { base: 'bert-base', task: 'classify', method: 'siva', data: 'classify.csv' },
  { base: 'bert-mlm', task: 'classify', method: 'full', data: 'classify.csv' },
  { base: 'bert-mlm', task: 'classify', method: 'head', data: 'classify.csv' },
  { base: 'bert-cls-f16', task: 'classify', method: 'siva', data: 'classify.csv', dtype: 'F16' },
  { base: 'bert-cls-bf16-sharded', task: 'classify', method: 'siva', data: 'classify.csv', dtype: 'BF16' },
  { base: 'bert-mlm-bf16-sharded', task: 'regress', method: 'siva', data: 'regress.csv', dtype: 'BF16', evaluate: true }
])

familyCases('roberta', [
  ...methods('roberta-mlm', 'classify', 'classify.csv'),
  { base: 'roberta-cls', task: 'classify', method: 'siva', data: 'two.csv' },
  { base: 'roberta-mlm-f16', task: 'classify', method: 'siva', data: 'classify.csv', dtype: 'F16' },
  { base: 'roberta-cls-bf16-sharded', task: 'regress', method: 'lora', data: 'regress.csv', dtype: 'BF16' }
])

familyCases('vit', [
  ...methods('vit-base', 'image-classify', 'images'),
  { base: 'vit-cls', task: 'image-classify', method: 'siva', data: 'images' },
  { base: 'vit-base-f16', task: 'image-classify', method: 'svdiff', data: 'images', dtype: 'F16' },
  { base: 'vit-cls-bf16-sharded', task: 'image-classify', method: 'siva', data: 'images', dtype: 'BF16' }
])

familyCases('deberta-v2', [
  ...methods('deberta-v2-mlm', 'classify', 'classify.csv'),
  { base: 'deberta-v2-cls', task: 'classify', method: 'siva', data: 'two.csv' },
  { base: 'deberta-v2-cls', task: 'regress', method: 'siva', data: 'regress.csv' },
  { base: 'deberta-v2-cls-f16', task: 'classify', method: 'lora', data: 'classify.csv', dtype: 'F16' },
  { base: 'deberta-v2-cls-bf16-sharded', task: 'classify', method: 'siva', data: 'classify.csv', dtype: 'BF16' }
])

// Llama-style decoders: LlamaForCausalLM (untied lm_head, GQA, llama3 rope) and Qwen2ForCausalLM (tied
// embeddings, q/k/v biases), as causal LMs and as *ForSequenceClassification made from them.
familyCases('llama-qwen2', [
  { base: 'llama-lm', task: 'causal-lm', method: 'siva', data: 'lm.csv', evaluate: true },
  { base: 'llama-lm', task: 'causal-lm', method: 'lora', data: 'lm.txt' },
  // q_proj (32×32) and v_proj (16×32) band sizes differ (3 and 2): zero-padded to r = 3, the same update.
  { base: 'llama-lm', task: 'causal-lm', method: 'siva', data: 'lm.txt', uniformRank: true },
  { base: 'llama-lm', task: 'classify', method: 'siva', data: 'classify.csv', evaluate: true },
  { base: 'qwen2-lm', task: 'causal-lm', method: 'siva', data: 'lm.txt', apply: true },
  { base: 'qwen2-lm', task: 'causal-lm', method: 'svdiff', data: 'lm.csv' },
  { base: 'qwen2-lm', task: 'classify', method: 'topk', data: 'two.csv' },
  { base: 'qwen2-lm', task: 'regress', method: 'siva', data: 'regress.csv' }
])
