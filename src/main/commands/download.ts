import { hubIdProblem, looksLikePath, parseHubId, type HubReference, type ResolvedHubModel } from '../engine/io/hubCache'
import { downloadHubModel, HubDownloadError, type HubDownloadProgress } from '../engine/io/hubDownload'
import { commonFlags, jsonFlag, parseCommandArgs, plural, printedHelp } from './args'
import { CliUsageError } from './errors'
import { ProgressLine } from './progress'

const help = `usage: siva download ID[@REVISION] [options]

Downloads a Hugging Face Hub model (org/name, or a canonical name such as gpt2; REVISION a branch, tag or
commit, default main) into the local Hugging Face cache, in the layout huggingface_hub uses, so Python and
SiVA Studio share one copy. Only what a run reads is fetched: config.json, generation_config.json, the
tokenizer and preprocessor files, README.md, and one set of weights (model.safetensors or its shards, else
pytorch_model.bin or its shards; never the TensorFlow, Flax or ONNX copies). Files already in the cache are
not fetched again; a download cut off or cancelled (Ctrl-C) resumes where it stopped when run again.
Prints the snapshot folder, which any command takes as a model path (they also download by themselves).

options:
  --file PATH     also fetch this file of the repository (repeatable; e.g. onnx/model.onnx)
  --json          print the result (id, revision, commit, cache, snapshot) as JSON on stdout
  --quiet         no progress on stderr
  -h, --help      this help

environment:
  HF_HUB_CACHE, HF_HOME   where the cache is (default ~/.cache/huggingface/hub)
  HF_ENDPOINT             the Hub or a mirror (default https://huggingface.co)
  HF_TOKEN                an access token, for gated or private models (else $HF_HOME/token,
                          where 'huggingface-cli login' saves it)
  HF_HUB_OFFLINE=1        never download (the command then fails)`

/** 1.5 MB, 320 kB: decimal units, as the Hub's pages show sizes. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s`
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`
}

/** "siva download: acme/bert@main: model.safetensors (3/7) 1.20 MB of 5.00 MB, 3.4 MB/s, 2 s left". */
export function downloadProgressLine(p: HubDownloadProgress, command = 'siva download'): string {
  const head = `${command}: ${p.id}@${p.revision}`
  if (p.stage === 'listing') return `${head}: listing files${p.commit === undefined ? '' : ` of commit ${p.commit.slice(0, 12)}`}`
  if (p.stage === 'done') return `${head}: ${plural(p.fileCount, 'file')}, ${formatBytes(p.totalBytes)}`
  const rate = p.bytesPerSecond > 0 ? `, ${formatBytes(p.bytesPerSecond)}/s` : ''
  const eta = p.etaSeconds === undefined ? '' : `, ${formatSeconds(p.etaSeconds)} left`
  const resumed = p.resumedBytes > 0 ? ` (${formatBytes(p.resumedBytes)} resumed)` : ''
  const what = p.stage === 'verifying' ? 'checking' : ''
  return `${head}: ${what}${what && ' '}${p.file ?? ''} (${p.fileIndex}/${p.fileCount}) ${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)}${resumed}${rate}${eta}`
}

/**
 * downloadHubModel with a progress line on stderr and Ctrl-C as a clean cancel (the partial file stays, and the
 * message says a re-run resumes). Used by `siva download` and by every command given an id not yet cached.
 */
export async function downloadWithProgress(reference: HubReference, options: { quiet?: boolean; command?: string; weights?: boolean; files?: string[] } = {}): Promise<ResolvedHubModel> {
  const command = options.command ?? 'siva download'
  const progress = options.quiet ? undefined : new ProgressLine()
  const controller = new AbortController()
  const onInterrupt = (): void => controller.abort()
  process.once('SIGINT', onInterrupt)
  const started = Date.now()
  let last: HubDownloadProgress | undefined
  try {
    const resolved = await downloadHubModel(reference, {
      signal: controller.signal,
      ...(options.weights !== undefined && { weights: options.weights }),
      ...(options.files !== undefined && { files: options.files }),
      onProgress: (p) => {
        last = p
        if (p.stage !== 'done') progress?.update(downloadProgressLine(p, command))
      }
    })
    const seconds = (Date.now() - started) / 1000
    const fetched = last === undefined ? '' : `, ${formatBytes(last.totalBytes)}`
    progress?.done(`${command}: ${reference.id}@${resolved.revision} (commit ${resolved.commit.slice(0, 12)})${last === undefined ? '' : `: ${plural(last.fileCount, 'file')}${fetched}`} in ${seconds.toFixed(1)} s → ${resolved.snapshot}`)
    return resolved
  } catch (error) {
    // The error's message says what is kept and that a re-run resumes; the caller prints it.
    progress?.done()
    throw error
  } finally {
    process.removeListener('SIGINT', onInterrupt)
  }
}

export async function downloadCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('download', {
    args: argv,
    allowPositionals: true,
    options: { file: { type: 'string', multiple: true }, ...jsonFlag, ...commonFlags }
  })
  if (printedHelp(values, help)) return 0
  if (positionals.length !== 1) throw new CliUsageError(`download takes exactly one ID[@REVISION] (got ${positionals.length}); see 'siva download --help'`)
  const text = positionals[0]!
  const reference = looksLikePath(text) ? undefined : parseHubId(text)
  if (reference === undefined) throw new CliUsageError(`'${text}' is not a Hugging Face Hub id (org/name[@revision]): ${looksLikePath(text) ? 'it is written as a path' : hubIdProblem(text)}`)
  try {
    const resolved = await downloadWithProgress(reference, { quiet: values.quiet, ...(values.file !== undefined && { files: values.file }) })
    process.stdout.write(values.json ? `${JSON.stringify(resolved, null, 2)}\n` : `${resolved.snapshot}\n`)
    return 0
  } catch (error) {
    if (error instanceof HubDownloadError && error.code === 'cancelled') {
      process.stderr.write(`siva download: ${error.message}\n`)
      return 130
    }
    throw error
  }
}
