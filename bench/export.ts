// Export sizes and speed on a BERT-base-width checkpoint: a short SiVA run exported in every form, the
// merged export timed against copying the checkpoint's files (the reference, measured in the same run).
//   npm run bench:export [-- --layers 4 --perc 0.1]
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { exportRun } from '../src/main/engine/export'
import { cachedDecompose } from '../src/main/engine/peft'
import { defaultTrainConfig, trainRun } from '../src/main/engine/training/loop'
import { AnalysisPool } from '../src/main/workers/analysisPool'
import { writeCharWordPiece } from '../tests/helpers/tinyModels'
import { median } from './median'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values } = parseArgs({ options: { layers: { type: 'string', default: '4' }, perc: { type: 'string', default: '0.1' }, repeats: { type: 'string', default: '3' } } })
const layers = Number(values.layers)
const perc = Number(values.perc)
const repeats = Number(values.repeats)
const work = join(root, 'bench/.tmp/export')
const model = join(root, `bench/.tmp/bert-random-${layers}l`)
if (!existsSync(join(model, 'model.safetensors'))) execFileSync('/usr/bin/python3', [join(root, 'bench/make_bert_random.py'), model, String(layers)], { stdio: 'inherit' })
// A character-level tokenizer: the bench is about weights, not text; any real text tokenises.
if (!existsSync(join(model, 'tokenizer.json'))) writeCharWordPiece(model)
rmSync(work, { recursive: true, force: true })

const pool = new AnalysisPool()
const decompose = cachedDecompose(pool.runSvd, { cacheDir: join(work, 'svd-cache') })
const runDir = join(work, 'run')
const config = defaultTrainConfig({ model, data: join(root, 'tests/fixtures/samples/spam.csv'), task: 'classify', method: 'siva', perc, maxSteps: 2, batchSize: 8, maxLength: 64, backend: 'wasm' })
process.stderr.write('training 2 SiVA steps…\n')
for await (const event of trainRun(config, runDir, { decompose })) if (event.type === 'error') throw new Error(event.message)

const folderBytes = (dir: string): number => readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0)
const copyTimes: number[] = []
const mergeTimes: number[] = []
for (let i = 0; i < repeats; i++) {
  const copy = join(work, `copy-${i}`)
  let start = performance.now()
  cpSync(model, copy, { recursive: true })
  copyTimes.push((performance.now() - start) / 1000)
  rmSync(copy, { recursive: true })
  const merged = join(work, `merged-${i}`)
  start = performance.now()
  await exportRun({ runDir, checkpoint: 'last', outputs: { merged } }, { decompose })
  mergeTimes.push((performance.now() - start) / 1000)
  if (i > 0) rmSync(merged, { recursive: true })
}
const outputs = { adapter: join(work, 'adapter'), 'peft-lora': join(work, 'peft-lora'), report: join(work, 'report') }
await exportRun({ runDir, checkpoint: 'last', outputs }, { decompose })
await exportRun({ runDir, checkpoint: 'last', outputs: { adapter: join(work, 'adapter-compact') }, compact: true }, { decompose })
await pool.close()

const prepared = JSON.parse(execFileSync('grep', ['-m1', '"type":"prepared"', join(runDir, 'events.jsonl')], { encoding: 'utf8' })) as { parameters: { adapter: number; head: number; lora8: number }; targets: { name: string; shape: [number, number]; trainable: number }[] }
const k = prepared.targets[0]!.trainable
const lora8Bytes = prepared.parameters.lora8 * 4 + prepared.parameters.head * 4
const mib = (b: number): string => (b >= 1024 * 1024 ? `${(b / 1024 / 1024).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`)
const rows: [string, number][] = [
  ['checkpoint (input)', folderBytes(model)],
  ['merged checkpoint', folderBytes(join(work, 'merged-0'))],
  ['SiVA adapter', folderBytes(outputs.adapter)],
  ['SiVA adapter --compact', folderBytes(join(work, 'adapter-compact'))],
  ['PEFT LoRA (rank k)', folderBytes(outputs['peft-lora'])],
  ['report', folderBytes(outputs.report)]
]
console.log(`export bench — ${new Date().toISOString().slice(0, 10)}, BERT-base width, ${layers} layers, SiVA perc ${perc} on query+value (${prepared.targets.length} matrices, k = ${k}), ${prepared.parameters.adapter} δ + ${prepared.parameters.head} head parameters`)
console.log('output                       size')
for (const [name, bytes] of rows) console.log(`${name.padEnd(26)} ${mib(bytes).padStart(11)}`)
console.log(`${'(LoRA r = 8, same targets)'.padEnd(26)} ${mib(lora8Bytes).padStart(11)}   float32 A and B plus the head, for comparison`)
console.log('')
console.log(`merged export: ${median(mergeTimes).toFixed(2)} s (median of ${repeats}, restoring the run included); copying the checkpoint folder: ${median(copyTimes).toFixed(2)} s`)
console.log(`merged export / copy: ${(median(mergeTimes) / median(copyTimes)).toFixed(1)}`)
