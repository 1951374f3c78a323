import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { applyAdapter, exportRun, type ExportResult } from '../../../src/main/engine/export'
import { modelCardText, type ModelCardFacts } from '../../../src/main/engine/export/modelCard'
import type { RunReport } from '../../../src/main/engine/export/report'
import { defaultTrainConfig, trainRun } from '../../../src/main/engine/training/loop'
import type { TrainEvent } from '../../../src/shared/training'
import pkg from '../../../package.json' with { type: 'json' }
import { inProcessDecompose as decompose } from '../../helpers/decompose'
import { hfReference, runHfPython } from '../../helpers/hfref'
import { tempDir } from '../../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../../helpers/tinyModels'

/**
 * The README.md model cards of `siva export`, read back by huggingface_hub's own ModelCard parser
 * (tests/reference/check_model_card.py on ../shared/hfref), and their numbers checked against what the
 * run itself recorded (events.jsonl, run.json) and what the test computes from the data file.
 */

interface ParsedCard {
  path: string
  problems: string[]
  data: Record<string, unknown>
  repo_card_data: Record<string, unknown>
  yaml_round_trip: Record<string, unknown>
  model_name: string | null
  text_heading: string
  eval_results: { task_type: string; dataset_type: string; dataset_name: string; dataset_revision: string | null; metric_type: string; metric_value: number }[]
}

function parseCards(paths: string[]): ParsedCard[] {
  return hfReference<ParsedCard[]>('check_model_card.py', paths)
}

const hubBase = 'google/bert_uncased_L-2_H-128_A-2'

describe('model cards of a real export (tiny-bert, SiVA, 2 classes)', () => {
  let root: string
  let base: string
  let data: string
  let runDir: string
  let result: ExportResult
  let events: TrainEvent[]
  const out = (name: string): string => join(root, 'out', name)

  beforeAll(async () => {
    root = tempDir('model-card')
    base = tinyBertWithTokenizer(join(root, 'tiny-bert'))
    // A base that names its Hub id and ships its own card with a license, as a Hub download does.
    const config = JSON.parse(readFileSync(join(base, 'config.json'), 'utf8')) as Record<string, unknown>
    writeFileSync(join(base, 'config.json'), JSON.stringify({ ...config, _name_or_path: hubBase }, null, 2))
    writeFileSync(join(base, 'README.md'), '---\nlicense: apache-2.0\ntags:\n- bert\n---\n\n# The base model\n\nNot the fine-tuned one.\n')
    data = sentimentCsv(join(root, 'sentiment.csv'), 48)
    runDir = join(root, 'run')
    const train = defaultTrainConfig({ model: base, data, task: 'classify', method: 'siva', k: 3, maxSteps: 6, batchSize: 8, lr: 0.05, headLr: 0.01, seed: 5, evalEvery: 3, checkpointEvery: 3, backend: 'wasm' })
    for await (const event of trainRun(train, runDir, { decompose })) if (event.type === 'error') throw new Error(event.message)
    events = readFileSync(join(runDir, 'events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as TrainEvent)
    result = await exportRun({ runDir, checkpoint: 'last', outputs: { merged: out('merged'), adapter: out('adapter'), 'peft-lora': out('peft') } }, { decompose })
  }, 120_000)

  it('each output lists README.md among its files and holds it, written with the rest', () => {
    for (const output of result.outputs) {
      expect(output.files.filter((f) => f === 'README.md'), output.kind).toEqual(['README.md'])
      expect(existsSync(join(output.dir, 'README.md'))).toBe(true)
    }
    expect(readdirSync(out('peft')).sort()).toEqual(['.siva-export', 'README.md', 'adapter_config.json', 'adapter_model.safetensors'])
    expect(readdirSync(out('adapter')).sort()).toEqual(['.siva-export', 'README.md', 'adapter.json', 'adapter.safetensors'])
    // The base's own card describes the base: the merged folder has the run's card in its place.
    const merged = readFileSync(join(out('merged'), 'README.md'), 'utf8')
    expect(merged).not.toContain('Not the fine-tuned one')
    expect(readdirSync(join(root, 'out')).filter((e) => e.startsWith('.'))).toEqual([])
  })

  it("huggingface_hub's parser reads the metadata peft and the Trainer would write", () => {
    const [merged, adapter, peft] = parseCards([join(out('merged'), 'README.md'), join(out('adapter'), 'README.md'), join(out('peft'), 'README.md')])
    for (const card of [merged!, adapter!, peft!]) {
      expect(card.problems).toEqual([])
      expect(card.data['base_model']).toBe(hubBase)
      expect(card.data['license']).toBe('apache-2.0')
      expect(card.data['pipeline_tag']).toBe('text-classification')
      expect(card.data['tags']).toEqual(expect.arrayContaining(['siva', 'peft', 'text-classification']))
      // The metrics the run evaluated that have Hub ids; the loss has none.
      expect(card.data['metrics']).toEqual(['accuracy', 'f1', 'matthews_correlation'])
      // Local CSV data is no Hub dataset: as the Trainer does, no result entry without one.
      expect(card.data['model-index']).toEqual([{ name: 'run', results: [] }])
      expect(card.data['datasets']).toBeUndefined()
      expect(card.repo_card_data).toEqual(card.data)
      expect(card.yaml_round_trip).toEqual(card.data)
      expect(card.text_heading).toBe('# run')
    }
    expect(merged!.data['library_name']).toBe('transformers')
    expect(peft!.data['library_name']).toBe('peft')
    expect(peft!.data['tags']).toContain('lora')
    // `siva` is not a library the Hub knows: the SiVA adapter names none.
    expect(adapter!.data['library_name']).toBeUndefined()
  }, 60_000)

  it('the body holds the run: settings, parameters, metrics and the data fingerprint', () => {
    const card = readFileSync(join(out('merged'), 'README.md'), 'utf8')
    const prepared = events.find((e) => e.type === 'prepared')
    if (prepared?.type !== 'prepared') throw new Error('no prepared event')
    const evals = events.filter((e): e is Extract<TrainEvent, { type: 'eval' }> => e.type === 'eval')
    expect(evals.map((e) => e.step)).toEqual([3, 6])
    const final = evals.at(-1)!
    // sha256 of the CSV, computed here.
    const sha = createHash('sha256').update(readFileSync(data)).digest('hex')
    expect(card).toContain(`| training | \`sentiment.csv\` | 1 | ${readFileSync(data).length.toLocaleString('en-US')} | \`${sha}\` |`)
    expect(card).toContain(`| total trained | ${prepared.parameters.total.toLocaleString('en-US')} |`)
    // 4 targets × k = 3, plus the 2 × 32 + 2 head.
    expect(prepared.parameters.total).toBe(12 + 66)
    expect(card).toContain(`| LoRA r = 8 on the same matrices, plus the head | ${(prepared.parameters.lora8 + prepared.parameters.head).toLocaleString('en-US')} |`)
    expect(card).toContain('| amount | k = 3 singular values per matrix |')
    expect(card).toContain('| seed | 5 |')
    expect(card).toContain(`| targets | the architecture's default: ${prepared.targets.length} matrices |`)
    expect(card).toContain('| exported checkpoint | `step-0000006` (step 6) |')
    const accuracy = card.split('\n').find((l) => l.startsWith('| Accuracy |'))!
    const best = evals.reduce((a, b) => (b.metrics['accuracy']! > a.metrics['accuracy']! ? b : a))
    expect(accuracy).toBe(`| Accuracy | ${fixed(best.metrics['accuracy']!)} | ${fixed(final.metrics['accuracy']!)} |`)
    expect(card).toContain(`SiVA Studio ${pkg.version}`)
    expect(card).toContain('AutoModelForSequenceClassification.from_pretrained(')
    const peftCard = readFileSync(join(out('peft'), 'README.md'), 'utf8')
    expect(peftCard).toContain('from peft import AutoPeftModelForSequenceClassification')
    expect(peftCard).toContain('lora_B = U_b diag(δ), lora_A = V_bᵀ')
    expect(readFileSync(join(out('adapter'), 'README.md'), 'utf8')).toContain('siva export --apply path/to/this-folder --base path/to/base-model --merged path/to/merged')
  })

  it("the card's own loading code runs: PEFT builds the base and puts the adapter and the head on it", () => {
    const card = readFileSync(join(out('peft'), 'README.md'), 'utf8')
    const snippet = /```python\n([\s\S]*?)```/.exec(card)![1]!.replaceAll('path/to/this-folder', out('peft'))
    const script = join(root, 'load_peft.py')
    writeFileSync(script, `${snippet}\nimport json\nprint(json.dumps({"class": type(model).__name__, "id2label": model.config.id2label, "labels": model.config.num_labels}))\n`)
    const printed = runHfPython(script, []).stdout.trim().split('\n').at(-1)!
    expect(JSON.parse(printed)).toEqual({ class: 'BertForSequenceClassification', id2label: { 0: 'neg', 1: 'pos' }, labels: 2 })
  }, 60_000)

  it('the adapter put back onto its base writes the same card as --merged', async () => {
    const applied = join(root, 'applied')
    const written = await applyAdapter(out('adapter'), base, applied, { decompose })
    expect(written.files).toContain('README.md')
    expect(readFileSync(join(applied, 'README.md'), 'utf8')).toBe(readFileSync(join(out('merged'), 'README.md'), 'utf8'))
  }, 60_000)
})

const fixed = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(4))

/** A finished run's report, as buildReport gives it, for the cards' pure parts. */
function report(overrides: { model: string; data: string; validation?: string; metrics: Record<string, number> }): RunReport {
  const config = defaultTrainConfig({ model: overrides.model, data: overrides.data, ...(overrides.validation && { validation: overrides.validation }), task: 'regress', method: 'lora', rank: 4, backend: 'wasm' })
  const point = { step: 10, epoch: 1, metrics: overrides.metrics }
  return {
    format: 'siva-run-report',
    version: 2,
    created: '2026-12-02T00:00:00.000Z',
    run: { created: '2026-12-01T00:00:00.000Z', versions: { 'siva-studio': '0.0.9', node: '20.19.0' }, resumedFrom: [] },
    config,
    status: 'finished',
    stepsDone: 10,
    checkpoint: { name: 'step-0000010', step: 10 },
    targets: [],
    curves: { train: [], eval: [point] },
    metrics: { key: 'pearson', higherIsBetter: true, final: point, best: point }
  }
}

function facts(r: RunReport, baseConfig: Record<string, unknown>, output: ModelCardFacts['output']): ModelCardFacts {
  return { output, report: r, name: 'my-run', baseConfig, baseFormat: 'safetensors', transformersClass: 'BertForSequenceClassification', version: '9.9.9' }
}

describe('model card metadata (pure)', () => {
  it('a Hub dataset in the cache gives model-index results the real parser reads as the run metrics', () => {
    const commit = 'a'.repeat(40)
    const dataset = `/home/me/.cache/huggingface/hub/datasets--glue-org--stsb/snapshots/${commit}/data`
    const model = `/home/me/.cache/huggingface/hub/models--org--tiny-model/snapshots/${'b'.repeat(40)}`
    // 1.5e-7 is printed with a dot in its mantissa: PyYAML reads "1.5e-7" as a float, "1e-7" as text.
    const r = report({ model, data: `${dataset}/train.csv`, validation: `${dataset}/validation.csv`, metrics: { loss: 0.25, pearson: 0.8125, spearman: 1e-7 } })
    const dir = tempDir('model-card-pure')
    const file = join(dir, 'README.md')
    writeFileSync(file, modelCardText(facts(r, { _name_or_path: '/somewhere/local' }, 'peft-lora')))
    const [card] = parseCards([file])
    expect(card!.problems).toEqual([])
    expect(card!.data['base_model']).toBe('org/tiny-model')
    expect(card!.data['datasets']).toEqual(['glue-org/stsb'])
    expect(card!.data['library_name']).toBe('peft')
    expect(card!.data['tags']).toEqual(['siva', 'peft', 'lora', 'text-classification'])
    expect(card!.model_name).toBe('my-run')
    expect(card!.eval_results.map((e) => [e.task_type, e.dataset_type, e.dataset_revision, e.metric_type, e.metric_value])).toEqual([
      ['text-classification', 'glue-org/stsb', commit, 'pearsonr', 0.8125],
      ['text-classification', 'glue-org/stsb', commit, 'spearmanr', 1e-7]
    ])
  }, 60_000)

  it('a merged TensorFlow.js graph model names no library (the Hub lists none for it) and loads with tf.loadGraphModel', () => {
    const r = report({ model: '/data/use-lite', data: '/data/train.csv', metrics: { loss: 0.5, pearson: 0.5 } })
    const text = modelCardText({ ...facts(r, {}, 'merged'), baseFormat: 'tfjs' })
    const dir = tempDir('model-card-tfjs')
    writeFileSync(join(dir, 'README.md'), text)
    const [card] = parseCards([join(dir, 'README.md')])
    expect(card!.problems).toEqual([])
    expect(card!.data['library_name']).toBeUndefined()
    expect(card!.data['tags']).toEqual(['siva', 'peft', 'lora', 'tfjs', 'text-classification'])
    expect(text).toContain("await tf.loadGraphModel('file://path/to/this-folder/model.json')")
    expect(text).not.toContain('from transformers import')
  }, 60_000)

  it('a local base that names no Hub id gets no base_model, and the card says why', () => {
    const r = report({ model: '/data/models/my-bert', data: '/data/train.csv', metrics: { loss: 0.5, pearson: 0.5 } })
    const text = modelCardText(facts(r, { _name_or_path: '/data/models/my-bert' }, 'merged'))
    const dir = tempDir('model-card-local')
    writeFileSync(join(dir, 'README.md'), text)
    const [card] = parseCards([join(dir, 'README.md')])
    expect(card!.problems).toEqual([])
    expect(card!.data['base_model']).toBeUndefined()
    expect(card!.data['model-index']).toEqual([{ name: 'my-run', results: [] }])
    expect(text).toContain('so `base_model` is left out of the metadata')
    expect(text).toContain('| amount | rank r = 4, α = 4 |')
    // Nothing in the card depends on when it is written.
    expect(modelCardText(facts(r, { _name_or_path: '/data/models/my-bert' }, 'merged'))).toBe(text)
  }, 60_000)
})
