import { resolve } from 'node:path'
import { generatePreview, type PreviewResult } from '../engine/generate'
import type { Generation } from '../engine/generate'
import { cachedDecompose } from '../engine/peft'
import { AnalysisPool } from '../workers/analysisPool'
import { commonFlags, jsonFlag, parseCommandArgs, printedHelp, svdCacheFolder } from './args'
import { CliUsageError } from './errors'
import { modelPath } from './modelArgument'

const maxNewTokensLimit = 1024

const help = `usage: siva generate --model MODEL --prompt TEXT [--max-new-tokens N] [--json]
       siva generate --run RUN_DIR [--checkpoint best|last|STEP] --prompt TEXT [--max-new-tokens N] [--json]

Continues a prompt greedily (the most likely token each step, as transformers' generate with
do_sample=False) with the base model and, with --run, with the run's adapted model next to it. Stops on
the tokenizer's end-of-text token (and generation_config.json's, and a chat end-of-turn token such as
<|im_end|>), or after --max-new-tokens.

options:
  --model MODEL        a checkpoint folder, or a Hub id org/name[@REVISION] in the Hugging Face cache
                       (downloaded first when missing); with --run, the run's own model by default
  --run RUN_DIR        a causal-lm run of siva train: its model, adapted, continues the prompt too
  --checkpoint C       best (default; the last when the run has no evaluation yet) | last | a step number
  --prompt TEXT        the text to continue (the tokenizer adds its special tokens, as transformers does)
  --max-new-tokens N   at most N new tokens (default 32, at most ${maxNewTokensLimit})
  --svd-cache DIR      where SVDs are kept (default ~/.cache/siva-studio/svd, as for siva train)
  --json               print the result as JSON on stdout
  --quiet              no progress line on stderr`

export async function generateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('generate', {
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      run: { type: 'string' },
      checkpoint: { type: 'string' },
      prompt: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      'svd-cache': { type: 'string' },
      ...jsonFlag,
      ...commonFlags
    }
  })
  if (printedHelp(values, help)) return 0
  if (positionals.length > 0) throw new CliUsageError(`generate takes no positional arguments (got '${positionals[0]}'); pass the text with --prompt`)
  if (values.prompt === undefined) throw new CliUsageError(`say what to continue with --prompt TEXT; see 'siva generate --help'`)
  if (values.model === undefined && values.run === undefined) throw new CliUsageError(`say which model with --model MODEL (or --run RUN_DIR); see 'siva generate --help'`)
  if (values.checkpoint !== undefined && values.run === undefined) throw new CliUsageError('--checkpoint applies to --run')
  const maxNewTokens = parseMaxNewTokens(values['max-new-tokens'])
  const checkpoint = parseCheckpoint(values.checkpoint)
  const model = values.model === undefined ? undefined : await modelPath(values.model, { quiet: values.quiet })

  const controller = new AbortController()
  const onSigint = (): void => controller.abort()
  process.once('SIGINT', onSigint)
  // SVDs are needed only to put a run's adapters back on the singular vectors it trained.
  const pool = values.run === undefined ? undefined : new AnalysisPool()
  const say = (text: string): void => {
    if (!values.quiet) process.stderr.write(`siva generate: ${text}\n`)
  }
  try {
    const result = await generatePreview(
      { ...(model !== undefined && { model }), ...(values.run !== undefined && { runDir: resolve(values.run) }), ...(checkpoint !== undefined && { checkpoint }), prompt: values.prompt, maxNewTokens },
      {
        decompose: pool ? cachedDecompose(pool.runSvd, { cacheDir: svdCacheFolder(values['svd-cache']), signal: controller.signal }) : unavailableDecompose,
        signal: controller.signal,
        onStage: (stage) => say(stage === 'base' ? 'the base model continues' : stage === 'restore' ? 'restoring the run' : 'the adapted model continues')
      }
    )
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    else process.stdout.write(printed(values.prompt, result))
    return controller.signal.aborted ? 130 : 0
  } finally {
    process.off('SIGINT', onSigint)
    await pool?.close()
  }
}

const unavailableDecompose = (): never => {
  throw new Error('no SVD is needed without a run')
}

function parseMaxNewTokens(option: string | undefined): number {
  if (option === undefined) return 32
  const count = /^\d+$/.test(option) ? Number(option) : NaN
  if (!(count >= 1 && count <= maxNewTokensLimit)) throw new CliUsageError(`--max-new-tokens must be a whole number from 1 to ${maxNewTokensLimit}, got '${option}'`)
  return count
}

function parseCheckpoint(option: string | undefined): 'best' | 'last' | number | undefined {
  if (option === undefined) return undefined
  if (option === 'best' || option === 'last') return option
  if (/^\d+$/.test(option)) return Number(option)
  throw new CliUsageError(`--checkpoint must be best, last or a step number, got '${option}'`)
}

function summary(generation: Generation): string {
  const count = generation.ids.length
  const why = generation.stoppedBy === 'eos' ? 'stopped at end of text' : generation.stoppedBy === 'cancel' ? 'cancelled' : 'reached --max-new-tokens'
  const rate = generation.seconds > 0 ? `, ${(count / generation.seconds).toFixed(1)} tokens/s` : ''
  return `${count} token${count === 1 ? '' : 's'}, ${why}${rate}`
}

function printed(prompt: string, result: PreviewResult): string {
  const lines = [`prompt: ${prompt}`, '', `base (${result.model}; ${summary(result.base)}):`, `${prompt}${result.base.text}`]
  if (result.adapted) lines.push('', `adapted (checkpoint ${result.adapted.checkpoint.name}, step ${result.adapted.checkpoint.step}; ${summary(result.adapted)}):`, `${prompt}${result.adapted.text}`)
  return `${lines.join('\n')}\n`
}
