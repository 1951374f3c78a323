// Memory while reading a large dataset: a generated ~200 MB JSONL file goes through validation, a
// tokenised slice of it through encoding and one shuffled epoch of batches, each in a fresh process,
// and every peak RSS is compared with two references measured in the same run: a process that only
// loads the same modules (the floor), and the naive approach — read the whole file, split it and
// JSON.parse every line (what "holding the file in memory" costs).
// Then encoding speed: one generated file encoded with the same tokenizer (GPT-2's byte-level BPE, and
// bert-base-uncased's WordPiece) on the JS engine, the native engine (Hugging Face's Rust tokenizers),
// and each in worker threads, in MB of file a second, with the ratio to the JS engine in this thread.
//   npm run bench:data [-- --mb 200 --encode-mb 16 --speed-mb 8 --workers N --only speed]
import { spawnSync } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { EncodedDataset, encodeTextDataset, epochOrder, TextTokenizer, validateTextDataset } from '../src/main/engine/data'
import { tokenizerEncoder } from '../src/main/engine/data/encodedDataset'
import { defaultEncodeWorkers, workerParallelEncoding } from '../src/main/workers/encodePool'
import { writeGpt2Tokenizer } from '../tests/helpers/gpt2Tokenizer'

const root = fileURLToPath(new URL('..', import.meta.url))
const work = join(root, 'bench/.tmp/data-stream')
const { values } = parseArgs({
  options: {
    phase: { type: 'string' },
    mb: { type: 'string', default: '200' },
    'encode-mb': { type: 'string', default: '16' },
    'speed-mb': { type: 'string', default: '8' },
    workers: { type: 'string' },
    only: { type: 'string' }
  }
})
const megabytes = Number(values.mb)
const encodeMegabytes = Number(values['encode-mb'])
const bigFile = join(work, `data-${megabytes}mb.jsonl`)
const sliceFile = join(work, `data-${encodeMegabytes}mb.jsonl`)
const tokenizerDir = join(work, 'gpt2-tokenizer')
const heapCapMiB = 96

interface PhaseResult {
  phase: string
  seconds: number
  peakRssMiB: number
  detail: string
}

/** Real English to fill rows with: sentences from the READMEs in node_modules. */
function sentences(): string[] {
  const out: string[] = []
  for (const pkg of readdirSync(join(root, 'node_modules')).sort()) {
    const readme = join(root, 'node_modules', pkg, 'README.md')
    if (!existsSync(readme)) continue
    for (const s of readFileSync(readme, 'utf8').split(/(?<=[.!?])\s+/)) {
      const line = s.replace(/\s+/g, ' ').trim()
      if (line.length > 30 && line.length < 400 && /^[A-Z]/.test(line)) out.push(line)
    }
    if (out.length > 5000) break
  }
  return out
}

async function generate(file: string, bytes: number): Promise<void> {
  if (existsSync(file) && statSync(file).size >= bytes) return
  process.stderr.write(`writing ${file} (${(bytes / 1e6).toFixed(0)} MB)…\n`)
  const pool = sentences()
  const out = createWriteStream(file)
  let written = 0
  for (let i = 0; written < bytes; i++) {
    const text = `${pool[(i * 7) % pool.length]} ${pool[(i * 13 + 5) % pool.length]}`
    const line = `${JSON.stringify({ text, label: ['ham', 'spam', 'eggs'][i % 3] })}\n`
    written += Buffer.byteLength(line)
    if (!out.write(line)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

const peakRss = (): number => process.resourceUsage().maxRSS / 1024

async function runPhase(phase: string): Promise<PhaseResult> {
  const start = performance.now()
  let detail = ''
  switch (phase) {
    case 'floor':
      break
    case 'tokenizer-floor': {
      // The floor for encoding: the tokenizer loaded (its vocabulary and merges) and warmed on 2,000 rows.
      const tokenizer = await TextTokenizer.load(tokenizerDir)
      let rows = 0
      const handle = await open(sliceFile)
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(1 << 20), 0, 1 << 20, 0)
      await handle.close()
      const lines = buffer.subarray(0, bytesRead).toString('utf8').split('\n').slice(0, 2000)
      for (const line of lines) if (line.endsWith('}')) rows += tokenizer.encode((JSON.parse(line) as { text: string }).text).ids.length > 0 ? 1 : 0
      detail = `${rows} rows tokenised`
      break
    }
    case 'naive': {
      const rows = (await readFile(bigFile, 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown)
      detail = `${rows.length} rows held`
      break
    }
    case 'validate': {
      const report = await validateTextDataset(bigFile)
      detail = `${report.rows} rows, usable: ${report.usable}`
      break
    }
    case 'encode': {
      const tokenizer = await TextTokenizer.load(tokenizerDir)
      const meta = await encodeTextDataset(sliceFile, join(work, 'encoded'), { task: 'classification', tokenizer, maxLength: 128, labels: ['eggs', 'ham', 'spam'] })
      detail = `${meta.examples} rows, ${meta.tokens} tokens, ${((encodeMegabytes * 1e6) / ((performance.now() - start) / 1000) / 1e6).toFixed(2)} MB/s`
      break
    }
    case 'batches': {
      const dataset = await EncodedDataset.open(join(work, 'encoded'))
      let batches = 0
      for await (const batch of dataset.batches(epochOrder(dataset.size, 1, 0), { batchSize: 32 })) batches += batch.size > 0 ? 1 : 0
      await dataset.close()
      detail = `${batches} batches of 32 in shuffled order`
      break
    }
    default:
      throw new Error(`unknown phase ${phase}`)
  }
  return { phase, seconds: (performance.now() - start) / 1000, peakRssMiB: peakRss(), detail }
}

interface SpeedResult {
  tokenizer: string
  way: string
  engine: string
  workers: number
  seconds: number
  megabytesPerSecond: number
  ids: Buffer
}

/** Encoding speed: the same file, the same tokenizer files, each way in turn in this process (the workers are real threads). */
async function encodingSpeed(file: string, workers: number): Promise<SpeedResult[]> {
  const bytes = statSync(file).size
  const bert = join(root, 'tests/fixtures/tokenizers/bert-base-uncased')
  const out: SpeedResult[] = []
  for (const [name, dir] of [['GPT-2 BPE', tokenizerDir], ['BERT WordPiece', bert]] as const) {
    const ways = [
      ['JS', 'js', false],
      ['native', 'native', false],
      ['JS + workers', 'js', true],
      ['native + workers', 'native', true]
    ] as const
    for (const [way, engine, parallel] of ways) {
      const tokenizer = await TextTokenizer.load(dir, { engine })
      const prefix = join(work, `speed-${engine}-${parallel ? 'workers' : 'thread'}`)
      const start = performance.now()
      // Workers are timed with their start-up (threads, the tokenizer loaded in each): what a run pays.
      const meta = await encodeTextDataset(file, prefix, {
        task: 'classification',
        tokenizer,
        maxLength: 128,
        labels: ['eggs', 'ham', 'spam'],
        ...(parallel ? { parallel: workerParallelEncoding({ workers, minBytes: 0 }) } : { encoder: tokenizerEncoder(tokenizer) })
      })
      const seconds = (performance.now() - start) / 1000
      out.push({ tokenizer: name, way, engine: meta.encoding?.engine ?? engine, workers: meta.encoding?.workers ?? 0, seconds, megabytesPerSecond: bytes / 1e6 / seconds, ids: readFileSync(`${prefix}.ids`) })
    }
  }
  return out
}

function printSpeed(results: SpeedResult[], file: string): void {
  console.log(`\nencoding speed: ${(statSync(file).size / 1e6).toFixed(1)} MB JSONL (classification, max_length 128), ${availableCores()} cores; MB/s of file; ratio to the JS engine in one thread`)
  console.log('tokenizer        way                engine  workers  seconds     MB/s   ratio  same ids as JS')
  for (const r of results) {
    const js = results.find((x) => x.tokenizer === r.tokenizer && x.way === 'JS')!
    console.log(
      `${r.tokenizer.padEnd(16)} ${r.way.padEnd(18)} ${r.engine.padEnd(7)} ${String(r.workers).padStart(7)} ${r.seconds.toFixed(2).padStart(8)} ${r.megabytesPerSecond.toFixed(2).padStart(8)} ${(r.megabytesPerSecond / js.megabytesPerSecond).toFixed(2).padStart(7)}  ${r.ids.equals(js.ids) ? 'yes' : 'NO'}`
    )
  }
}

const availableCores = (): number => defaultEncodeWorkers()

if (values.phase) {
  process.stdout.write(`${JSON.stringify(await runPhase(values.phase))}\n`)
} else if (values.only === 'speed') {
  mkdirSync(work, { recursive: true })
  mkdirSync(tokenizerDir, { recursive: true })
  writeGpt2Tokenizer(tokenizerDir)
  const speedFile = join(work, `speed-${values['speed-mb']}mb.jsonl`)
  await generate(speedFile, Number(values['speed-mb']) * 1e6)
  printSpeed(await encodingSpeed(speedFile, Number(values.workers ?? defaultEncodeWorkers())), speedFile)
} else {
  mkdirSync(work, { recursive: true })
  mkdirSync(tokenizerDir, { recursive: true })
  writeGpt2Tokenizer(tokenizerDir)
  await generate(bigFile, megabytes * 1e6)
  await generate(sliceFile, encodeMegabytes * 1e6)
  const results: PhaseResult[] = []
  for (const phase of ['floor', 'validate', 'tokenizer-floor', 'encode', 'batches', 'naive']) {
    process.stderr.write(`${phase}…\n`)
    // Streaming phases run with the V8 heap capped well below the file's size: finishing at all shows
    // that memory does not grow with the file. The naive reference runs uncapped.
    const cap = phase === 'naive' ? [] : [`--max-old-space-size=${heapCapMiB}`]
    const run = spawnSync(process.execPath, [...cap, join(root, 'bin/run-ts.mjs'), 'bench/data-stream.ts', '--phase', phase, '--mb', String(megabytes), '--encode-mb', String(encodeMegabytes)], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 1 << 20
    })
    if (run.status !== 0) throw new Error(`phase ${phase} failed:\n${run.stderr}`)
    results.push(JSON.parse(run.stdout.trim().split('\n').pop()!) as PhaseResult)
  }
  const floor = results.find((r) => r.phase === 'floor')!.peakRssMiB
  const tokenizerFloor = results.find((r) => r.phase === 'tokenizer-floor')!.peakRssMiB
  const naive = results.find((r) => r.phase === 'naive')!.peakRssMiB
  const fileMiB = statSync(bigFile).size / 2 ** 20
  console.log(`\nfile: ${fileMiB.toFixed(0)} MiB JSONL (encode/batches on a ${encodeMegabytes} MB slice); every phase but naive ran with the V8 heap capped at ${heapCapMiB} MiB; floor = modules loaded (for encode: the tokenizer loaded and warm), naive = whole file parsed in memory`)
  console.log('phase            seconds  peak RSS MiB  above floor  above floor / file size  peak / naive peak  detail')
  for (const r of results) {
    const above = r.peakRssMiB - (r.phase === 'encode' ? tokenizerFloor : floor)
    console.log(
      `${r.phase.padEnd(15)} ${r.seconds.toFixed(1).padStart(8)} ${r.peakRssMiB.toFixed(0).padStart(13)} ${above.toFixed(0).padStart(12)} ${(above / fileMiB).toFixed(3).padStart(24)} ${(r.peakRssMiB / naive).toFixed(3).padStart(18)}  ${r.detail}`
    )
  }
  const speedFile = join(work, `speed-${values['speed-mb']}mb.jsonl`)
  await generate(speedFile, Number(values['speed-mb']) * 1e6)
  printSpeed(await encodingSpeed(speedFile, Number(values.workers ?? defaultEncodeWorkers())), speedFile)
}
