import { openCheckpoint } from '../engine/io'
import { inspectSource } from '../engine/spectra'
import type { InspectReport } from '../../shared/spectra'
import { namePattern, type SafePattern } from '../../shared/pattern/safePattern'
import { AnalysisPool } from '../workers/analysisPool'
import { commonFlags, jsonFlag, parseCommandArgs, plural, printedHelp } from './args'
import { CliUsageError } from './errors'
import { modelPath } from './modelArgument'
import { ProgressLine } from './progress'
import { formatInspectTable } from './inspectTable'

const help = `usage: siva inspect PATH [options]

Singular values, effective rank, stable rank, spectral norm and condition number of every 2-D weight
matrix (GPT-2's fused c_attn per q/k/v block). PATH is a Hugging Face checkpoint folder (sharded or
not), a .safetensors file, a tfjs model.json, or a Hugging Face Hub id (org/name, org/name@REVISION with a
branch, tag or commit) opened from the local Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else
~/.cache/huggingface/hub) and downloaded into it first when missing (as 'siva download' does; not with
HF_HUB_OFFLINE=1). A path that exists wins over an id.

options:
  --layers REGEX          analyse only matrices whose name matches (e.g. 'attn\\.c_attn\\.(q|v)')
  --values-only           singular values without vectors (faster)
  --perc P                fraction SiVA would train, for the bottom-k energy column (default 0.1)
  --include-embeddings    also analyse embedding tables
  --workers N             SVD worker threads (default: one per core)
  --json                  print exactly one JSON document on stdout
  --quiet                 no progress on stderr
  -h, --help              this help`

export async function inspectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('inspect', {
    args: argv,
    allowPositionals: true,
    options: {
      layers: { type: 'string' },
      'values-only': { type: 'boolean', default: false },
      perc: { type: 'string' },
      'include-embeddings': { type: 'boolean', default: false },
      workers: { type: 'string' },
      ...jsonFlag,
      ...commonFlags
    }
  })
  if (printedHelp(values, help)) return 0
  if (positionals.length !== 1) throw new CliUsageError(`inspect takes exactly one PATH (got ${positionals.length}); see 'siva inspect --help'`)
  const layers = parseRegex(values.layers)
  const perc = values.perc === undefined ? 0.1 : Number(values.perc)
  if (!(perc > 0 && perc <= 1)) throw new CliUsageError(`--perc must be a number in (0, 1], got '${values.perc}'`)
  const workers = values.workers === undefined ? undefined : Number(values.workers)
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) throw new CliUsageError(`--workers must be a positive integer, got '${values.workers}'`)

  const progress = values.quiet ? undefined : new ProgressLine()
  const source = await openCheckpoint(await modelPath(positionals[0]!, { quiet: values.quiet === true }))
  const pool = new AnalysisPool(workers)
  const controller = new AbortController()
  const onInterrupt = (): void => controller.abort()
  process.once('SIGINT', onInterrupt)
  let report: InspectReport
  try {
    progress?.update(`siva inspect: ${source.source}: ${source.tensors.length} tensors, ${pool.size} SVD workers`)
    report = await inspectSource(source, {
      runSvd: pool.runSvd,
      perc,
      valuesOnly: values['values-only'],
      layers,
      includeEmbeddings: values['include-embeddings'],
      concurrency: pool.size * 2,
      signal: controller.signal,
      onProgress: (p) => {
        const timing = p.seconds === undefined ? (p.error ? 'not analysed' : '') : `${p.seconds.toFixed(2)} s`
        progress?.update(`[${p.done}/${p.total}] ${p.name} ${p.shape[0]}×${p.shape[1]} ${timing}`)
      }
    })
  } catch (error) {
    if (controller.signal.aborted) {
      progress?.done('siva inspect: interrupted')
      return 130
    }
    throw error
  } finally {
    process.removeListener('SIGINT', onInterrupt)
    await pool.close()
    await source.close()
  }
  const bad = report.tensors.filter((t) => t.error)
  progress?.done(`siva inspect: ${plural(report.tensors.length, 'matrix', 'matrices')} in ${report.seconds.toFixed(2)} s${bad.length ? `, ${bad.length} not analysed` : ''}`)

  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`)
  else process.stdout.write(formatInspectTable(report))
  for (const t of bad) process.stderr.write(`siva: error: ${t.error}\n`)
  if (report.tensors.length === 0) {
    const why = layers ? `matches --layers '${values.layers}'` : 'was found'
    process.stderr.write(`siva: error: ${source.source}: no 2-D weight matrix ${why} (${report.skipped.length} tensors skipped; see the list)\n`)
    return 1
  }
  return bad.length > 0 ? 1 : 0
}

function parseRegex(pattern: string | undefined): SafePattern | undefined {
  if (pattern === undefined) return undefined
  try {
    return namePattern(pattern, '--layers')
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error))
  }
}
