import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { applyAdapter, exportRun, vllmMaxLoraRank, type ExportKind, type ExportProgress } from '../engine/export'
import { cachedDecompose } from '../engine/peft'
import { AnalysisPool } from '../workers/analysisPool'
import { commonFlags, jsonFlag, parseCommandArgs, printedHelp, svdCacheFolder } from './args'
import { CliUsageError } from './errors'
import { modelPath } from './modelArgument'
import { ProgressLine } from './progress'
import { cliWording, ExportRefusal } from '../../shared/exportOptions'

const help = `usage: siva export RUN_DIR [--checkpoint best|last|STEP] OUTPUT… [--force] [--json] [--quiet]
       siva export --apply ADAPTER_DIR --base MODEL_DIR --merged OUT_DIR [--force]

Writes what a run trained, in one or several forms at once:

  --merged DIR       the fine-tuned model in the input checkpoint's own layout (same files, sharding,
                     names, dtypes): W' = W + ΔW rounded once to the stored dtype; every tensor the
                     method did not touch is byte-identical to the input. Loads with transformers.
  --adapter DIR      SiVA Studio's adapter: adapter.json + adapter.safetensors (δ and k per matrix, the
                     base weights' sha256, and by default the singular vectors used)
  --compact          with --adapter: leave the singular vectors out (kilobytes; loading recomputes them
                     from the base and refuses a base whose weights differ)
  --peft-lora DIR    the same update as a PEFT LoRA adapter (adapter_config.json +
                     adapter_model.safetensors), for peft, vLLM and TGI
  --uniform-rank     with --peft-lora: one rank r for every module (each zero-padded to the largest:
                     the same update), lora_alpha = r, no rank_pattern — what vLLM and llama.cpp's
                     convert_lora_to_gguf.py read correctly (they apply one scale to every module)
  --report DIR       report.json and a self-contained report.html

options:
  --checkpoint C     best (default; the last when the run has no evaluation yet) | last | a step number
  --force            replace output folders that an earlier export wrote (they hold a .siva-export
                     marker); never another folder, the run, its base model, or a folder holding them
  --svd-cache DIR    where SVDs are kept (default ~/.cache/siva-studio/svd, as for siva train)
  --json             print the result as JSON on stdout
  --quiet            no progress line on stderr
  --apply DIR        put a SiVA Studio adapter onto --base and write the merged model to --merged
                     (--base: a checkpoint folder, or a Hub id org/name[@REVISION] in the Hugging Face cache,
                     downloaded first when missing)

Each output is written into a hidden folder beside it and renamed into place when complete, so an
interrupted export never leaves half a model, and the next export removes what a killed one left; free
disk space is checked first.`

const kinds: ExportKind[] = ['merged', 'adapter', 'peft-lora', 'report']

export async function exportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('export', {
    args: argv,
    allowPositionals: true,
    options: {
      checkpoint: { type: 'string' },
      merged: { type: 'string' },
      adapter: { type: 'string' },
      'peft-lora': { type: 'string' },
      report: { type: 'string' },
      compact: { type: 'boolean', default: false },
      'uniform-rank': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      'svd-cache': { type: 'string' },
      apply: { type: 'string' },
      base: { type: 'string' },
      ...jsonFlag,
      ...commonFlags
    }
  })
  if (printedHelp(values, help)) return 0
  const progress = values.quiet ? undefined : new ProgressLine()
  const controller = new AbortController()
  const onSigint = (): void => controller.abort(new Error('export cancelled (Ctrl-C); nothing was left half-written'))
  process.once('SIGINT', onSigint)
  const pool = new AnalysisPool()
  const decompose = cachedDecompose(pool.runSvd, { cacheDir: svdCacheFolder(values['svd-cache']), signal: controller.signal })
  try {
    if (values.apply !== undefined) return await apply(values, positionals, decompose, controller.signal, progress)
    if (positionals.length !== 1) throw new CliUsageError(`export takes one RUN_DIR${positionals.length > 1 ? `, got ${positionals.length}` : ''}; see 'siva export --help'`)
    const runDir = resolve(positionals[0]!)
    const outputs = Object.fromEntries(kinds.filter((k) => values[k] !== undefined).map((k) => [k, values[k] as string]))
    if (Object.keys(outputs).length === 0) throw new CliUsageError(`say what to export: --merged, --adapter, --peft-lora and/or --report DIR; see 'siva export --help'`)
    if (values.compact && outputs['adapter'] === undefined) throw new CliUsageError('--compact applies to --adapter')
    if (values['uniform-rank'] && outputs['peft-lora'] === undefined) throw new CliUsageError('--uniform-rank applies to --peft-lora')
    const checkpoint = parseCheckpoint(values.checkpoint)
    const result = await exportRun(
      { runDir, ...(checkpoint !== undefined && { checkpoint }), outputs, compact: values.compact, force: values.force, uniformRank: values['uniform-rank'] },
      { decompose, signal: controller.signal, onProgress: (p) => progress?.update(describe(p)) }
    )
    progress?.done()
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    else {
      process.stderr.write(`siva export: checkpoint ${result.checkpoint.name} (step ${result.checkpoint.step})\n`)
      for (const output of result.outputs) {
        process.stderr.write(`  ${output.kind.padEnd(9)} ${output.dir}  ${size(output.bytes)}  (${output.files.join(', ')})\n`)
        if (output.omitted) process.stderr.write(`            left out ${output.omitted.length} tensor${output.omitted.length === 1 ? '' : 's'} the trained class has no place for: ${abbreviate(output.omitted)}\n`)
        if (output.kind === 'peft-lora') process.stderr.write(servingNote(output.dir))
      }
    }
    return 0
  } catch (error) {
    progress?.done()
    if (controller.signal.aborted) {
      process.stderr.write(`siva export: ${(controller.signal.reason as Error).message}\n`)
      return 130
    }
    // A refusal that names a setting, named as this command's flag (--force, --merged, --checkpoint).
    if (error instanceof ExportRefusal) throw new Error(error.worded(cliWording), { cause: error })
    throw error
  } finally {
    process.off('SIGINT', onSigint)
    await pool.close()
  }
}

async function apply(values: Record<string, string | boolean | undefined>, positionals: string[], decompose: ReturnType<typeof cachedDecompose>, signal: AbortSignal, progress: ProgressLine | undefined): Promise<number> {
  if (positionals.length > 0) throw new CliUsageError('--apply takes no RUN_DIR')
  if (typeof values['base'] !== 'string' || typeof values['merged'] !== 'string') throw new CliUsageError('--apply needs --base MODEL_DIR and --merged OUT_DIR')
  const out = resolve(values['merged'])
  const result = await applyAdapter(resolve(values['apply'] as string), await modelPath(values['base'], { quiet: values['quiet'] === true }), out, {
    decompose,
    force: values['force'] === true,
    signal,
    onProgress: (done, total, detail) => progress?.update(`siva export: merging ${Math.round((100 * done) / Math.max(1, total))}% ${detail}`)
  })
  progress?.done()
  if (values['json']) process.stdout.write(`${JSON.stringify({ dir: out, ...result }, null, 2)}\n`)
  else process.stderr.write(`siva export: merged model written to ${out} (${size(result.bytes)} of tensors)\n`)
  return 0
}

function parseCheckpoint(option: string | undefined): 'best' | 'last' | number | undefined {
  if (option === undefined) return undefined
  if (option === 'best' || option === 'last') return option
  if (/^\d+$/.test(option)) return Number(option)
  throw new CliUsageError(`--checkpoint must be best, last or a step number, got '${option}'`)
}

function describe(p: ExportProgress): string {
  const percent = p.total > 0 ? ` ${Math.round((100 * p.done) / p.total)}%` : ''
  return `siva export: ${p.kind === 'restore' ? 'restoring the run at' : p.kind}${p.kind === 'restore' ? '' : percent}${p.detail ? ` ${p.detail}` : ''}`
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`
}

/** A few names, then how many more. */
function abbreviate(names: string[], shown = 4): string {
  return names.length <= shown ? names.join(', ') : `${names.slice(0, shown).join(', ')} and ${names.length - shown} more`
}

/**
 * How the PEFT adapter serves: with one rank, the vLLM line (its --max-lora-rank the smallest allowed value
 * at or above r); with several (rank_pattern), why vLLM and llama.cpp would mis-scale it.
 */
function servingNote(dir: string): string {
  let config: { r?: unknown; rank_pattern?: unknown; base_model_name_or_path?: unknown; task_type?: unknown }
  try {
    config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as typeof config
  } catch {
    return ''
  }
  const rank = typeof config.r === 'number' ? config.r : undefined
  const pattern = config.rank_pattern && typeof config.rank_pattern === 'object' ? Object.keys(config.rank_pattern).length : 0
  if (rank === undefined) return ''
  if (pattern > 0) return `            ${pattern} module${pattern === 1 ? ' has' : 's have'} another rank than r = ${rank} (rank_pattern): vLLM and llama.cpp apply one scale to all; export with --uniform-rank for them\n`
  if (config.task_type !== 'CAUSAL_LM') return ''
  const max = vllmMaxLoraRank(rank)
  if (max === undefined) return `            r = ${rank} is above vLLM's largest --max-lora-rank (512)\n`
  return `            vLLM: vllm serve ${String(config.base_model_name_or_path)} --enable-lora --max-lora-rank ${max} --lora-modules siva=${dir}\n`
}
