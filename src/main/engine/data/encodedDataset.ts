import { randomBytes } from 'node:crypto'
import { open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { writeAll } from '../io/atomicWrite'
import { encodeExamples, ExampleEncodeError, type EncodedExample } from './encodeExample'
import { readTextExamples, type ExampleReadOptions, type TextExample, type TextTask } from './examples'
import { makeProblem, place, quote, type ProblemSink } from './problems'
import type { TokenizerEngine, TextTokenizer } from './tokenizer'

/**
 * A text dataset tokenised once into three files next to each other:
 *
 *   NAME.ids    every example's token ids, int32 little-endian, one after another
 *   NAME.index  one 32-byte record per example (below)
 *   NAME.json   what they hold (task, counts, label names, pad id…), written last
 *
 * and, for chat data (version 2, `lossMask`), a fourth:
 *
 *   NAME.mask   one byte per id, in the order of NAME.ids: 1 where the id gets loss (assistant turns)
 *
 * A conversation has as many loss spans as assistant turns, which one prompt length per record cannot
 * say; a byte per id (a quarter of the ids' size) also survives packing, where blocks cut through
 * conversations. Version 1 datasets (no mask: loss after the record's prompt length) read as before.
 *
 * Training then reads any example by position, so an epoch can visit them in any order while memory
 * holds only the batch at hand: a 1 GB JSONL file is never in memory, and is tokenised only once.
 */
const recordBytes = 32
// Record layout: offset in ids (float64: datasets may exceed 2^32 ids), length, row, prompt length,
// start of the pair's segment (-1 when none), label (class id or float32 target), reserved.

export interface EncodedDatasetMeta {
  format: 'siva-encoded-text'
  /** 1: loss after each record's prompt length; 2: the same, or per id from NAME.mask when `lossMask`. */
  version: 1 | 2
  task: TextTask
  source: string
  examples: number
  tokens: number
  maxLength: number
  padId: number
  padLeft: boolean
  /** Classification: class names, id order. */
  labels?: string[]
  /** Causal LM: texts were joined (end-of-text between them) and cut into blocks of maxLength. */
  packed: boolean
  /** Examples longer than maxLength, cut to it. */
  truncated: number
  /** Rows left out (unusable, or a class not in `labels`). */
  skipped: number
  /** Chat data (version 2): NAME.mask says which ids get loss. */
  lossMask?: boolean
  /** How the text was tokenised: the engine, how many worker threads (0: the calling thread), and why not faster. */
  encoding?: EncodingReport
}

export interface EncodingReport {
  engine: TokenizerEngine
  workers: number
  /** Why the tokenizer runs on the JS engine (TextTokenizer.fallbackReason). */
  fallbackReason?: string
  /** Why no worker threads were used, when they were offered (ParallelEncoding) and the data was large enough. */
  workersReason?: string
}

/**
 * Turns examples into ids, in their order: in the calling thread (tokenizerEncoder), or in the host's worker
 * threads (ParallelEncoding). Throws ExampleEncodeError naming the row of a text it cannot tokenise.
 */
export interface ExampleEncoder {
  /** Chunks that may be encoding at once; results are still taken in order. */
  readonly concurrency: number
  /** Worker threads behind it (0: the calling thread). */
  readonly workers: number
  encode(examples: readonly TextExample[], task: TextTask, maxLength: number): Promise<EncodedExample[]>
}

/**
 * Worker threads the host offers for encoding (the engine owns no threads: src/main/workers/encodePool.ts).
 * Used only from `minBytes` of source on, where starting the workers and loading the tokenizer in each pays.
 */
export interface ParallelEncoding {
  /** Source size from which workers are used; default parallelEncodingMinBytes for the tokenizer's engine. */
  minBytes?: number
  /** Workers ready to encode with this tokenizer, or why there are none (the calling thread encodes then). */
  open(tokenizer: TextTokenizer): Promise<(ExampleEncoder & { close(): Promise<void> }) | string>
}

/** Below this much source, the calling thread encodes (measured by bench:data: JS ≈ 1 MB/s a core, native several times that). */
export const parallelEncodingMinBytes: Record<TokenizerEngine, number> = { js: 8 << 20, native: 64 << 20 }

/** In the calling thread: two chunks in flight on the native engine, whose batches run on libuv's threads. */
export function tokenizerEncoder(tokenizer: TextTokenizer): ExampleEncoder {
  return {
    concurrency: tokenizer.engine === 'native' ? 2 : 1,
    workers: 0,
    encode: (examples, task, maxLength) => encodeExamples(tokenizer, task, examples, maxLength)
  }
}

/** A chunk of examples is sent to the encoder at once: this many examples, or this many characters. */
const chunkExamples = 512
const chunkCharacters = 1 << 20

/** Bytes of a data file, or of every file in a dataset folder. */
async function sourceBytes(path: string): Promise<number> {
  const info = await stat(path)
  if (!info.isDirectory()) return info.size
  let total = 0
  for (const entry of await readdir(path, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name)).catch(() => undefined))?.size ?? 0
  }
  return total
}

export interface EncodeDatasetOptions extends Omit<ExampleReadOptions, 'onProblem' | 'task'> {
  task: TextTask
  tokenizer: TextTokenizer
  maxLength: number
  /** Classification: class names in id order (the training set's; see labelNames). Required for classification. */
  labels?: readonly string[]
  /** Causal LM: join texts and cut into full blocks, as language-model pre-training does. */
  pack?: boolean
  onProblem?: ProblemSink
  /** The encoder to use; default: worker threads when `parallel` is given and the data is large enough, else this thread. */
  encoder?: ExampleEncoder
  parallel?: ParallelEncoding
}

/** Ids are gathered in chunks of this many before each write: memory stays flat whatever the file. */
const chunkIds = 1 << 18

/**
 * Tokenise a file into `outPrefix`.{ids,index,json}. Files are written under temporary names and renamed
 * at the end, the meta file last: an interrupted run leaves no dataset that looks complete.
 */
export async function encodeTextDataset(file: string, outPrefix: string, options: EncodeDatasetOptions): Promise<EncodedDatasetMeta> {
  const { task, tokenizer, maxLength } = options
  if (!(Number.isInteger(maxLength) && maxLength > 1)) throw new RangeError(`maxLength must be an integer above 1, got ${maxLength}`)
  if (task === 'classification' && (!options.labels || options.labels.length === 0)) throw new Error('encoding a classification dataset needs its label names')
  const pack = task === 'causal-lm' && options.pack === true
  const labelIds = new Map((options.labels ?? []).map((name, id) => [name, id]))
  const onProblem = options.onProblem ?? (() => {})
  const suffix = `.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  const temp = (ext: string): string => join(dirname(outPrefix), `.${basename(outPrefix)}.${ext}${suffix}`)
  const idsFile = temp('ids')
  const indexFile = temp('index')
  const maskFile = temp('mask')
  let ids: FileHandle | undefined
  let index: FileHandle | undefined
  let mask: FileHandle | undefined
  const report: EncodingReport = { engine: tokenizer.engine, workers: 0, ...(tokenizer.fallbackReason !== undefined && { fallbackReason: tokenizer.fallbackReason }) }
  let encoder = options.encoder
  let pool: (ExampleEncoder & { close(): Promise<void> }) | undefined
  if (!encoder && options.parallel && (await sourceBytes(file).catch(() => 0)) >= (options.parallel.minBytes ?? parallelEncodingMinBytes[tokenizer.engine])) {
    const opened = await options.parallel.open(tokenizer)
    if (typeof opened === 'string') report.workersReason = opened
    else encoder = pool = opened
  }
  encoder ??= tokenizerEncoder(tokenizer)
  report.workers = encoder.workers

  try {
    ids = await open(idsFile, 'wx')
    index = await open(indexFile, 'wx')
    const idChunk = new Int32Array(chunkIds)
    let idFill = 0
    // Chat data: one loss byte per id, opened with the first conversation (a file is chat data or not, whole).
    let maskChunk: Uint8Array | undefined
    let maskFill = 0
    const indexChunk = new DataView(new ArrayBuffer(recordBytes * 4096))
    let indexFill = 0
    let tokens = 0
    let examples = 0
    let truncated = 0
    let skipped = 0

    const pushIds = async (values: ArrayLike<number>): Promise<void> => {
      for (let i = 0; i < values.length; i++) {
        idChunk[idFill++] = values[i]!
        if (idFill === chunkIds) {
          await writeAll(ids!, new Uint8Array(idChunk.buffer, 0, idFill * 4))
          idFill = 0
        }
      }
    }
    const pushMask = async (values: ArrayLike<number>): Promise<void> => {
      for (let i = 0; i < values.length; i++) {
        maskChunk![maskFill++] = values[i]!
        if (maskFill === chunkIds) {
          await writeAll(mask!, maskChunk!.subarray(0, maskFill))
          maskFill = 0
        }
      }
    }
    const pushRecord = async (length: number, row: number, promptLength: number, pairStart: number, label: number, integerLabel: boolean): Promise<void> => {
      const at = indexFill * recordBytes
      indexChunk.setFloat64(at, tokens, true)
      indexChunk.setInt32(at + 8, length, true)
      indexChunk.setInt32(at + 12, row, true)
      indexChunk.setInt32(at + 16, promptLength, true)
      indexChunk.setInt32(at + 20, pairStart, true)
      if (integerLabel) indexChunk.setInt32(at + 24, label, true)
      else indexChunk.setFloat32(at + 24, label, true)
      indexChunk.setInt32(at + 28, 0, true)
      tokens += length
      examples++
      if (++indexFill === 4096) {
        await writeAll(index!, new Uint8Array(indexChunk.buffer))
        indexFill = 0
      }
    }

    // Packing: ids (and, for chat data, their loss bytes) carried over from one text to the next until a block is full.
    let carry: number[] = []
    let carryMask: number[] = []
    let carryRow = 0

    // Problems arrive in row order: a row with several errors is one row skipped.
    let lastSkippedRow = 0
    const readOptions: ExampleReadOptions = {
      ...options,
      task,
      // Chat data is rendered with the checkpoint's own template, as training's tokenizer reads it.
      chatTemplate: options.chatTemplate ?? (() => tokenizer.chatTemplate()),
      onProblem: (problem) => {
        // A conversation the template cannot render stops the encoding, naming its row: the run would
        // otherwise train on fewer rows than the data check counted (it checks shapes without a tokenizer).
        if (problem.severity === 'error' && (problem.code as string).startsWith('chat-template')) throw new Error(problem.message)
        if (problem.severity === 'error' && problem.row !== undefined && problem.row !== lastSkippedRow) {
          skipped++
          lastSkippedRow = problem.row
        }
        onProblem(problem)
      }
    }
    // Examples go to the encoder in chunks, several in flight; their ids are written in row order.
    const store = async (example: TextExample, label: number, encoded: EncodedExample): Promise<void> => {
      const lossBytes = encoded.lossSpans && lossMaskOf(encoded.ids.length, encoded.lossSpans)
      if (lossBytes && !maskChunk) {
        if (tokens > 0 || carry.length > 0) throw new Error(`${place(file, example.row)}: a conversation after rows that are not conversations; a file is chat data or not, whole`)
        mask = await open(maskFile, 'wx')
        maskChunk = new Uint8Array(chunkIds)
      }
      if (!lossBytes && maskChunk) throw new Error(`${place(file, example.row)}: a row that is not a conversation in chat data`)
      if (pack) {
        if (carry.length === 0) carryRow = example.row
        for (const id of encoded.ids) carry.push(id)
        if (lossBytes) for (const bit of lossBytes) carryMask.push(bit)
        while (carry.length >= maxLength) {
          await pushIds(carry.slice(0, maxLength))
          if (lossBytes) {
            await pushMask(carryMask.slice(0, maxLength))
            carryMask = carryMask.slice(maxLength)
          }
          await pushRecord(maxLength, carryRow, 0, -1, 0, true)
          carry = carry.slice(maxLength)
          carryRow = example.row
        }
        return
      }
      if (encoded.fullLength > maxLength) truncated++
      const pairStart = example.pair === undefined ? -1 : encoded.typeIds.indexOf(1)
      await pushIds(encoded.ids)
      if (lossBytes) await pushMask(lossBytes)
      await pushRecord(encoded.ids.length, example.row, encoded.promptLength, pairStart, label, task !== 'regression')
    }
    type Chunk = { examples: TextExample[]; labels: number[] }
    const inFlight: { chunk: Chunk; encoded: Promise<EncodedExample[]> }[] = []
    const encodeLength = pack ? Number.MAX_SAFE_INTEGER : maxLength
    const send = (chunk: Chunk): void => {
      const encoded = encoder.encode(chunk.examples, task, encodeLength)
      encoded.catch(() => undefined) // awaited in order below; a later chunk's failure must not go unhandled meanwhile
      inFlight.push({ chunk, encoded })
    }
    const takeOldest = async (): Promise<void> => {
      const { chunk, encoded } = inFlight.shift()!
      let results: EncodedExample[]
      try {
        results = await encoded
      } catch (error) {
        if (error instanceof ExampleEncodeError) throw new ExampleEncodeError(error.row, error.reason, { cause: error, file })
        throw error
      }
      for (let i = 0; i < results.length; i++) await store(chunk.examples[i]!, chunk.labels[i]!, results[i]!)
    }
    let chunk: Chunk = { examples: [], labels: [] }
    let chunkChars = 0
    for await (const example of readTextExamples(file, readOptions)) {
      options.signal?.throwIfAborted()
      let label = 0
      if (task === 'classification') {
        const id = labelIds.get(example.label!)
        if (id === undefined) {
          skipped++
          onProblem(makeProblem(file, 'label-unseen', 'error', `${place(file, example.row)}: label ${quote(example.label!)} is not among the training labels; row left out`, { row: example.row }))
          continue
        }
        label = id
      } else if (task === 'regression') label = example.target!
      chunk.examples.push(example)
      chunk.labels.push(label)
      chunkChars += example.text.length + (example.pair?.length ?? 0) + (example.prompt?.length ?? 0)
      if (chunk.examples.length >= chunkExamples || chunkChars >= chunkCharacters) {
        send(chunk)
        chunk = { examples: [], labels: [] }
        chunkChars = 0
        // Bounded memory: never more chunks in flight than the encoder can work on.
        while (inFlight.length >= encoder.concurrency) await takeOldest()
      }
    }
    if (chunk.examples.length > 0) send(chunk)
    while (inFlight.length > 0) {
      options.signal?.throwIfAborted()
      await takeOldest()
    }
    if (pack && carry.length > 0) {
      onProblem(makeProblem(file, 'text-too-long', 'info', `${place(file)}: the last ${carry.length} tokens do not fill a block of ${maxLength} and are left out`))
    }

    if (idFill > 0) await writeAll(ids, new Uint8Array(idChunk.buffer, 0, idFill * 4))
    if (indexFill > 0) await writeAll(index, new Uint8Array(indexChunk.buffer, 0, indexFill * recordBytes))
    if (mask && maskFill > 0) await writeAll(mask, maskChunk!.subarray(0, maskFill))
    await ids.sync()
    await index.sync()
    await mask?.sync()
    await ids.close()
    await index.close()
    await mask?.close()
    const chat = mask !== undefined
    ids = index = mask = undefined

    const meta: EncodedDatasetMeta = {
      format: 'siva-encoded-text',
      version: chat ? 2 : 1,
      task,
      source: file,
      examples,
      tokens,
      maxLength,
      padId: tokenizer.padId,
      padLeft: tokenizer.padLeft,
      packed: pack,
      truncated,
      skipped,
      encoding: report
    }
    if (task === 'classification') meta.labels = [...options.labels!]
    if (chat) meta.lossMask = true
    else await rm(`${outPrefix}.mask`, { force: true }) // an older chat encoding under this name would contradict the meta
    await rename(idsFile, `${outPrefix}.ids`)
    if (chat) await rename(maskFile, `${outPrefix}.mask`)
    await rename(indexFile, `${outPrefix}.index`)
    const metaTemp = temp('json')
    await writeFile(metaTemp, `${JSON.stringify(meta, null, 2)}\n`)
    await rename(metaTemp, `${outPrefix}.json`)
    return meta
  } finally {
    await pool?.close().catch(() => undefined)
    await ids?.close().catch(() => undefined)
    await index?.close().catch(() => undefined)
    await mask?.close().catch(() => undefined)
    await rm(idsFile, { force: true })
    await rm(indexFile, { force: true })
    await rm(maskFile, { force: true })
  }
}

/** One byte per id: 1 inside a loss span. */
function lossMaskOf(length: number, spans: readonly (readonly [number, number])[]): Uint8Array {
  const bytes = new Uint8Array(length)
  for (const [start, end] of spans) bytes.fill(1, start, Math.min(end, length))
  return bytes
}

/** One batch, ready to become tensors: row-major [size, length] arrays. */
export interface TextBatch {
  size: number
  /** Padded sequence length of this batch. */
  length: number
  inputIds: Int32Array
  attentionMask: Int32Array
  tokenTypeIds: Int32Array
  /**
   * Classification: class ids [size]. Regression: targets [size] (float32). Causal LM: [size, length]
   * token ids to predict, -100 on prompt and padding (Hugging Face's ignore index; the model shifts); for
   * chat data, -100 everywhere but the assistant turns (NAME.mask).
   */
  labels: Int32Array | Float32Array
  /** Each example's row in the source file, for error messages and predictions. */
  rows: Int32Array
}

export interface BatchOptions {
  batchSize: number
  /** Pad to the longest example in the batch (default), or always to the dataset's maxLength. */
  padTo?: 'longest' | 'max'
  signal?: AbortSignal
}

interface IndexRecord {
  offset: number
  length: number
  row: number
  promptLength: number
  pairStart: number
  label: number
}

/** Reads an encoded dataset by position. Close it when done. */
export class EncodedDataset {
  private constructor(
    readonly meta: EncodedDatasetMeta,
    private readonly ids: FileHandle,
    private readonly index: FileHandle,
    private readonly mask: FileHandle | undefined
  ) {}

  static async open(prefix: string): Promise<EncodedDataset> {
    const meta = JSON.parse(await readFile(`${prefix}.json`, 'utf8')) as EncodedDatasetMeta
    if (meta.format !== 'siva-encoded-text' || !(meta.version === 1 || meta.version === 2)) throw new Error(`${prefix}.json: not an encoded dataset this version reads`)
    const withMask = meta.version === 2 && meta.lossMask === true
    const handles: FileHandle[] = []
    try {
      for (const ext of withMask ? ['ids', 'index', 'mask'] : ['ids', 'index']) handles.push(await open(`${prefix}.${ext}`, 'r'))
      const [idStat, indexStat, maskStat] = await Promise.all(handles.map((handle) => handle.stat()))
      if (idStat!.size !== meta.tokens * 4 || indexStat!.size !== meta.examples * recordBytes || (maskStat && maskStat.size !== meta.tokens)) {
        throw new Error(`${prefix}: the .ids, .index or .mask file does not match ${basename(prefix)}.json (a copy cut short?); encode the data again`)
      }
    } catch (error) {
      await Promise.all(handles.map((handle) => handle.close().catch(() => undefined)))
      throw error
    }
    return new EncodedDataset(meta, handles[0]!, handles[1]!, handles[2])
  }

  get size(): number {
    return this.meta.examples
  }

  /** Every example's label (class id or target), in file order: for stratified splits and class weights. */
  async labels(): Promise<Float64Array> {
    const out = new Float64Array(this.size)
    const block = 8192
    const bytes = new Uint8Array(block * recordBytes)
    const view = new DataView(bytes.buffer)
    for (let start = 0; start < this.size; start += block) {
      const count = Math.min(block, this.size - start)
      await this.readExactly(this.index, bytes, count * recordBytes, start * recordBytes)
      for (let i = 0; i < count; i++) out[start + i] = this.meta.task === 'regression' ? view.getFloat32(i * recordBytes + 24, true) : view.getInt32(i * recordBytes + 24, true)
    }
    return out
  }

  /** Batches in the given order (e.g. `epochOrder(…)` over a split's indices); the last may be smaller. */
  async *batches(order: ArrayLike<number>, options: BatchOptions): AsyncGenerator<TextBatch> {
    const { batchSize } = options
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`)
    for (let start = 0; start < order.length; start += batchSize) {
      options.signal?.throwIfAborted()
      const picks = Array.from({ length: Math.min(batchSize, order.length - start) }, (_, i) => order[start + i]!)
      const records = await Promise.all(picks.map((i) => this.record(i)))
      const sequences = await Promise.all(records.map((r) => this.sequence(r)))
      const masks = this.mask ? await Promise.all(records.map((r) => this.lossMask(r))) : undefined
      yield this.assemble(records, sequences, options.padTo === 'max' ? this.meta.maxLength : Math.max(...records.map((r) => r.length)), masks)
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.ids.close(), this.index.close(), this.mask?.close()])
  }

  private assemble(records: IndexRecord[], sequences: Int32Array[], length: number, masks?: Uint8Array[]): TextBatch {
    const size = records.length
    const { task, padId, padLeft } = this.meta
    const inputIds = new Int32Array(size * length).fill(padId)
    const attentionMask = new Int32Array(size * length)
    const tokenTypeIds = new Int32Array(size * length)
    const labels = task === 'causal-lm' ? new Int32Array(size * length).fill(-100) : task === 'regression' ? new Float32Array(size) : new Int32Array(size)
    const rows = new Int32Array(size)
    records.forEach((record, b) => {
      const ids = sequences[b]!
      const at = b * length + (padLeft ? length - ids.length : 0)
      inputIds.set(ids, at)
      attentionMask.fill(1, at, at + ids.length)
      if (record.pairStart >= 0) tokenTypeIds.fill(1, at + record.pairStart, at + ids.length)
      const mask = masks?.[b]
      if (mask) {
        for (let j = 0; j < ids.length; j++) if (mask[j] === 1) labels[at + j] = ids[j]!
      } else if (task === 'causal-lm') labels.set(ids.subarray(record.promptLength), at + record.promptLength)
      else labels[b] = record.label
      rows[b] = record.row
    })
    return { size, length, inputIds, attentionMask, tokenTypeIds, labels, rows }
  }

  private async record(i: number): Promise<IndexRecord> {
    if (!(Number.isInteger(i) && i >= 0 && i < this.size)) throw new RangeError(`example ${i} is outside the dataset (0…${this.size - 1})`)
    const bytes = new Uint8Array(recordBytes)
    await this.readExactly(this.index, bytes, recordBytes, i * recordBytes)
    const view = new DataView(bytes.buffer)
    return {
      offset: view.getFloat64(0, true),
      length: view.getInt32(8, true),
      row: view.getInt32(12, true),
      promptLength: view.getInt32(16, true),
      pairStart: view.getInt32(20, true),
      label: this.meta.task === 'regression' ? view.getFloat32(24, true) : view.getInt32(24, true)
    }
  }

  private async sequence(record: IndexRecord): Promise<Int32Array> {
    const ids = new Int32Array(record.length)
    await this.readExactly(this.ids, new Uint8Array(ids.buffer), record.length * 4, record.offset * 4)
    return ids
  }

  private async lossMask(record: IndexRecord): Promise<Uint8Array> {
    const bytes = new Uint8Array(record.length)
    await this.readExactly(this.mask!, bytes, record.length, record.offset)
    return bytes
  }

  private async readExactly(handle: FileHandle, into: Uint8Array, length: number, position: number): Promise<void> {
    let done = 0
    while (done < length) {
      const { bytesRead } = await handle.read(into, done, length - done, position + done)
      if (bytesRead === 0) throw new Error('an encoded dataset file ended early; encode the data again')
      done += bytesRead
    }
  }
}
