// Worker entry for the encode pool: tokenises chunks of examples with its own copy of the run's tokenizer.
// Thin on purpose: the tokenising lives in the engine, the scheduling in the pool.
import { parentPort } from 'node:worker_threads'
import { encodeExamples, ExampleEncodeError } from '../engine/data/encodeExample'
import { TextTokenizer } from '../engine/data/tokenizer'
import type { TaskMessage, WorkerMessage } from './protocol'
import { packEncoded, transferablesOf, type EncodeTask, type EncodeTaskResult } from './encodeProtocol'

if (!parentPort) throw new Error('encodeWorker must run in a worker thread')
const port = parentPort

// One tokenizer per worker, loaded by the first task that names it (every task of a pool names the same one).
let loaded: { key: string; tokenizer: Promise<TextTokenizer> } | undefined

function tokenizerFor(source: EncodeTask['tokenizer']): Promise<TextTokenizer> {
  const key = JSON.stringify(source)
  if (loaded?.key !== key) loaded = { key, tokenizer: TextTokenizer.load(source.checkpoint, source.options) }
  return loaded.tokenizer
}

port.on('message', (message: TaskMessage<EncodeTask>) => {
  const { id, payload } = message
  void (async () => {
    try {
      const tokenizer = await tokenizerFor(payload.tokenizer)
      let result: EncodeTaskResult
      try {
        result = packEncoded(await encodeExamples(tokenizer, payload.task, payload.examples, payload.maxLength))
      } catch (error) {
        if (!(error instanceof ExampleEncodeError)) throw error
        // The row travels as a number: the pool rebuilds the error on its side, where the file is known.
        result = { ok: false, index: payload.examples.findIndex((e) => e.row === error.row), reason: error.reason }
      }
      port.postMessage({ type: 'result', id, payload: result } satisfies WorkerMessage<EncodeTaskResult>, result.ok ? transferablesOf(result) : [])
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error))
      port.postMessage({ type: 'error', id, name: e.name, message: e.message } satisfies WorkerMessage<EncodeTaskResult>)
    }
  })()
})
