import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import pkg from '../../../../package.json' with { type: 'json' }
import { writeFileAtomically } from '../io/atomicWrite'
import { buildReport, type RunReport } from './report'
import type { RestoredRun } from './restoreRun'
import { defaultPerc, defaultRank, methodInfo, methodTitle } from '../../../shared/methods'
import type { TrainTask } from '../../../shared/training'

/**
 * The `README.md` model card written into merged exports and adapters: YAML front matter with the Hub's
 * metadata, then what was trained, how, with how many parameters, how well it evaluated, on which data,
 * and how to load it. The metadata follows what the Hugging Face libraries write themselves:
 *
 * - peft's `PeftModel.create_or_update_model_card` sets `library_name: peft` and `base_model` from the
 *   base config's `_name_or_path`;
 * - transformers' `TrainingSummary.create_metadata` (Trainer.create_model_card) writes `license`,
 *   `base_model` (only when `_name_or_path` is not a local folder), `tags`, `datasets`, `metrics` (the
 *   evaluation keys it knows as Hub metric ids; not the loss) and `model-index`, whose results keep only
 *   entries with a task, a dataset and metrics; data read from local csv/json/parquet/text files is "not a
 *   real dataset from the Hub" to it, so a run on local files gets `results: []`;
 * - `library_name` takes a key of the Hub's library list (huggingface.js, packages/tasks/src/
 *   model-libraries.ts): `transformers` and `peft` are there; `siva` is not, and neither is a TensorFlow.js
 *   graph model's format (`transformers.js` runs ONNX, not tfjs graphs), so those cards name no library
 *   and carry a `tfjs` tag instead.
 *
 * The card holds nothing that depends on where or when it is written, so `siva export --apply` writes the
 * same README.md as `--merged` from the text the adapter carries.
 */

export const modelCardFile = 'README.md'

/** What a card describes: a merged checkpoint (transformers or a tfjs graph), SiVA Studio's adapter, or a PEFT LoRA adapter. */
export type ModelCardOutput = 'merged' | 'adapter' | 'peft-lora'

export interface ModelCardFacts {
  output: ModelCardOutput
  /** The run as buildReport reads it, at the exported checkpoint. */
  report: RunReport
  /** The model's name in model-index: the run folder's name. */
  name: string
  /** The base model's config.json, as read. */
  baseConfig: Record<string, unknown>
  /** The base's checkpoint format: 'tfjs' for a TensorFlow.js graph model. */
  baseFormat: string
  /** The transformers class the task loads in (BertForSequenceClassification), where there is one. */
  transformersClass?: string
  /** The base's `license`, read from its own model card's front matter. */
  license?: string
  /** The SiVA Studio version writing the export. */
  version: string
  /** The SiVA adapter without its singular vectors. */
  compact?: boolean
}

/** The Hub's task tags (transformers' TASK_TAG_TO_NAME_MAPPING gives the names) for each task. */
const taskTags: Record<TrainTask, { tag: string; name: string }> = {
  classify: { tag: 'text-classification', name: 'Text Classification' },
  // transformers' Trainer tags a regression head (ForSequenceClassification, one label) the same way.
  regress: { tag: 'text-classification', name: 'Text Classification' },
  'causal-lm': { tag: 'text-generation', name: 'Causal Language Modeling' },
  'image-classify': { tag: 'image-classification', name: 'Image Classification' }
}

/** The run's evaluation keys as Hub metric ids (the loss has none, as in transformers' METRIC_TAGS). */
const hubMetrics: Record<string, { id: string; name: string }> = {
  accuracy: { id: 'accuracy', name: 'Accuracy' },
  f1: { id: 'f1', name: 'F1' },
  matthews: { id: 'matthews_correlation', name: 'Matthews correlation' },
  pearson: { id: 'pearsonr', name: 'Pearson correlation' },
  spearman: { id: 'spearmanr', name: 'Spearman correlation' },
  perplexity: { id: 'perplexity', name: 'Perplexity' }
}

const metricLabels: Record<string, string> = { loss: 'Loss', ...Object.fromEntries(Object.entries(hubMetrics).map(([key, m]) => [key, m.name])) }

/** A Hub repository id: `name` or `org/name`, letters, digits, `-`, `_`, `.`, no `--` or `..`. */
const hubIdPattern = /^(?:[A-Za-z0-9][A-Za-z0-9._-]*\/)?[A-Za-z0-9][A-Za-z0-9._-]*$/

function isHubId(text: string): boolean {
  return hubIdPattern.test(text) && !text.includes('--') && !text.includes('..') && text.length <= 96
}

/** `org/name` of a path inside the Hugging Face cache (`…/models--org--name/snapshots/<commit>/…`), with the commit. */
export function hubIdInCache(path: string, kind: 'models' | 'datasets'): { id: string; revision: string } | undefined {
  const match = new RegExp(`(?:^|[\\\\/])${kind}--([^\\\\/]+)[\\\\/]snapshots[\\\\/]([0-9a-f]{40})(?:[\\\\/]|$)`).exec(path)
  return match ? { id: match[1]!.split('--').join('/'), revision: match[2]! } : undefined
}

/**
 * The base's Hub id, when it is known: the run's model as a Hub id (`org/name`, `org/name@rev`) or as a
 * folder of the Hugging Face cache, else the base config's `_name_or_path` if that is a Hub id and not a
 * folder on this machine (as transformers' Trainer decides). Undefined for a local checkpoint that names none.
 */
export function baseHubId(model: string, baseConfig: Record<string, unknown>): string | undefined {
  const cached = hubIdInCache(model, 'models')
  if (cached) return cached.id
  const [id] = model.split('@')
  if (id !== undefined && isHubId(id) && id.includes('/') && !existsSync(model)) return id
  const named = baseConfig['_name_or_path']
  if (typeof named === 'string' && isHubId(named) && !existsSync(named)) return named
  return undefined
}

/** The `license` of the base's own README.md front matter, if it declares one. */
export async function baseLicense(modelDir: string): Promise<string | undefined> {
  let text: string
  try {
    text = await readFile(join(modelDir, modelCardFile), 'utf8')
  } catch {
    return undefined
  }
  const front = /^---\r?\n([\s\S]*?)\r?\n---(?:\r?\n|$)/.exec(text)
  const line = front?.[1]?.split(/\r?\n/).find((l) => /^license:/.test(l))
  const value = line
    ?.slice('license:'.length)
    .replace(/\s+#.*$/, '')
    .trim()
    .replace(/^(["'])(.*)\1$/, '$2')
  return value && /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(value) ? value : undefined
}

type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml | undefined }

/** A number PyYAML (YAML 1.1) reads back as the same float: its float pattern needs a dot in the mantissa. */
function yamlNumber(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e21) return String(x)
  const text = String(x)
  return text.includes('e') && !/^-?\d+\./.test(text) ? text.replace(/^(-?\d+)e/, '$1.0e') : text
}

const yamlKey = (key: string): string => (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? key : JSON.stringify(key))

function yamlScalar(value: Exclude<Yaml, Yaml[] | { [key: string]: Yaml | undefined }>): string {
  if (typeof value === 'number') return yamlNumber(value)
  if (typeof value === 'string') return plainScalar(value) ? value : JSON.stringify(value) // a JSON string is a YAML double-quoted scalar
  return String(value)
}

/** A string YAML 1.1 reads back as that string when written bare: no number, boolean, null or indicator. */
function plainScalar(text: string): boolean {
  return /^[A-Za-z][A-Za-z0-9._/-]*$/.test(text) && !/^(?:y|n|yes|no|true|false|on|off|null)$/i.test(text)
}

/** Block YAML, as yaml.dump writes it: sequences at their key's indent, maps indented by two. */
function yamlLines(value: Yaml, indent: string): string[] {
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if (item !== null && typeof item === 'object' && !isEmpty(item)) {
        const [first, ...rest] = yamlLines(item, `${indent}  `)
        return [`${indent}- ${first!.slice(indent.length + 2)}`, ...rest]
      }
      return [`${indent}- ${inline(item)}`]
    })
  }
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => {
      if (item === undefined) return []
      if (item !== null && typeof item === 'object' && !isEmpty(item)) return [`${indent}${yamlKey(key)}:`, ...yamlLines(item, Array.isArray(item) ? indent : `${indent}  `)]
      return [`${indent}${yamlKey(key)}: ${inline(item)}`]
    })
  }
  return [`${indent}${yamlScalar(value)}`]
}

function isEmpty(value: Yaml[] | { [key: string]: Yaml | undefined }): boolean {
  return Array.isArray(value) ? value.length === 0 : Object.values(value).every((v) => v === undefined)
}

function inline(value: Yaml): string {
  if (Array.isArray(value)) return '[]'
  if (value !== null && typeof value === 'object') return '{}'
  return yamlScalar(value)
}

/** The card's YAML front matter, as an object (what huggingface_hub's ModelCardData.to_dict() should read back). */
export function modelCardMetadata(facts: ModelCardFacts): Record<string, Yaml> {
  const { report } = facts
  const config = report.config
  const task = taskTags[config.task]
  const tfjs = facts.baseFormat === 'tfjs'
  const base = baseHubId(config.model, facts.baseConfig)
  const library = facts.output === 'peft-lora' ? 'peft' : facts.output === 'merged' && !tfjs ? 'transformers' : undefined
  const method = methodInfo(config.method)
  const tags = [...new Set(['siva', ...(method.kind === 'full' ? [] : ['peft']), config.method, ...(facts.output === 'peft-lora' ? ['lora'] : []), ...(tfjs ? ['tfjs'] : []), task.tag])]
  const dataset = hubIdInCache(config.validation ?? config.data, 'datasets')
  const trainDataset = hubIdInCache(config.data, 'datasets')
  const datasets = [...new Set([trainDataset?.id, dataset?.id].filter((d): d is string => d !== undefined))]
  const evaluated = report.metrics.final ?? report.metrics.best
  const metrics = Object.keys(evaluated?.metrics ?? {}).filter((key) => hubMetrics[key] !== undefined && evaluated!.metrics[key] !== null)
  const results: Yaml[] = []
  if (dataset && evaluated && metrics.length > 0) {
    results.push({
      task: { type: task.tag, name: task.name },
      dataset: { type: dataset.id, name: dataset.id, revision: dataset.revision, ...(config.validation === undefined && { split: 'train' }) },
      metrics: metrics.map((key) => ({ type: hubMetrics[key]!.id, value: evaluated.metrics[key]!, name: hubMetrics[key]!.name }))
    })
  }
  return {
    ...(facts.license !== undefined && { license: facts.license }),
    ...(base !== undefined && { base_model: base }),
    ...(library !== undefined && { library_name: library }),
    pipeline_tag: task.tag,
    tags,
    ...(datasets.length > 0 && { datasets }),
    ...(metrics.length > 0 && { metrics: metrics.map((key) => hubMetrics[key]!.id) }),
    'model-index': [{ name: facts.name, results }]
  }
}

const number = (x: number): string => x.toLocaleString('en-US')
const ratioText = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : x >= 0.01 ? `${(x * 100).toFixed(2)} %` : `${(x * 100).toPrecision(2)} %`)
const metricText = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : Number.isInteger(x) ? String(x) : x.toFixed(4))
const code = (text: string): string => `\`${text.replace(/`/g, "'")}\``

/** One paragraph on what the method trains (the catalogue in src/shared/methods.ts). */
function methodParagraph(name: RunReport['config']['method']): string {
  switch (name) {
    case 'siva':
      return 'SiVA (Singular Value Adaptation) writes each chosen weight matrix as W = U Σ Vᵀ and trains only its k smallest singular values: a δ is added to the last k values of Σ, the singular vectors stay fixed, so the update ΔW = U_b diag(δ) V_bᵀ has rank k and lies in the matrix\'s own basis (U_b and V_b are the singular vectors of the band). Every other weight of the model is frozen; the task head trains.'
    case 'topk':
      return 'Top-k writes each chosen weight matrix as W = U Σ Vᵀ and trains only its k largest singular values: a δ is added to the first k values of Σ with the singular vectors fixed, so ΔW = U_b diag(δ) V_bᵀ has rank k. Every other weight of the model is frozen; the task head trains.'
    case 'svdiff':
      return 'SVDiff writes each chosen weight matrix as W = U Σ Vᵀ and trains a δ for every singular value, with the singular vectors fixed: ΔW = U diag(δ) Vᵀ. Every other weight of the model is frozen; the task head trains.'
    case 'lora':
      return 'LoRA trains a rank-r update ΔW = (α / r) · B A of each chosen weight matrix, A and B new matrices of r rows and columns; every other weight of the model is frozen, and the task head trains.'
    case 'full':
      return 'Full fine-tuning trains every weight of the model, and the task head.'
    case 'head':
      return 'A linear probe: only the task head trains; every weight of the base model is frozen.'
  }
}

function outputParagraph(facts: ModelCardFacts, tfjs: boolean): string {
  const method = facts.report.config.method
  switch (facts.output) {
    case 'merged':
      return tfjs
        ? 'This folder is the update merged into the weights (W + ΔW) of a TensorFlow.js graph model, in the format it came in, with the trained head added to the graph after its output.'
        : `This folder is the update merged into the weights (W + ΔW): a plain transformers checkpoint${facts.transformersClass ? ` for ${code(facts.transformersClass)}` : ''}, in the base's own layout; no PEFT and no SiVA Studio are needed to run it.`
    case 'adapter':
      return `This folder is SiVA Studio's own adapter (${code('adapter.json')} and ${code('adapter.safetensors')}): per adapted matrix the trained parameters and the sha256 of the base weight they were trained on, and the trained head${facts.compact ? '. It is compact: the singular vectors are left out and recomputed from the base when it is loaded, which refuses a base whose weights differ' : ', with the singular vectors it used, so loading needs no SVD'}.`
    case 'peft-lora':
      return methodInfo(method).spectral
        ? `This folder is the same update as a PEFT LoRA adapter: ${method === 'svdiff' ? 'U diag(δ) Vᵀ' : 'U_b diag(δ) V_bᵀ'} is a LoRA with lora_B = U_b diag(δ), lora_A = V_bᵀ and lora_alpha = r, so PEFT's scaling alpha / r is 1. The trained head is saved as PEFT saves ${code('modules_to_save')}.`
        : `This folder is the update as a PEFT LoRA adapter, in PEFT's own format. The trained head is saved as PEFT saves ${code('modules_to_save')}.`
  }
}

function amountText(config: RunReport['config']): string | undefined {
  const info = methodInfo(config.method)
  if (info.amount === 'k') return config.k !== undefined ? `k = ${config.k} singular values per matrix` : `perc = ${config.perc ?? defaultPerc} (k = max(1, round(perc · r)) per matrix of r singular values)`
  if (info.amount === 'rank') return `rank r = ${config.rank ?? defaultRank}, α = ${config.alpha ?? config.rank ?? defaultRank}`
  return undefined
}

function loadSection(facts: ModelCardFacts, tfjs: boolean): string[] {
  const task = facts.report.config.task
  const folder = 'path/to/this-folder'
  const autoClass = task === 'causal-lm' ? 'AutoModelForCausalLM' : task === 'image-classify' ? 'AutoModelForImageClassification' : 'AutoModelForSequenceClassification'
  const preprocessor = task === 'image-classify' ? 'AutoImageProcessor' : 'AutoTokenizer'
  switch (facts.output) {
    case 'merged':
      if (tfjs) {
        return [
          'With TensorFlow.js (tfjs-node), fed as the base was fed; `userDefinedMetadata.siva` in `model.json` names the logits and the embedding nodes:',
          '',
          '```js',
          `const model = await tf.loadGraphModel('file://${folder}/model.json')`,
          '```'
        ]
      }
      return ['With transformers:', '', '```python', `from transformers import ${autoClass}, ${preprocessor}`, '', `model = ${autoClass}.from_pretrained("${folder}")`, `${preprocessor === 'AutoTokenizer' ? 'tokenizer' : 'processor'} = ${preprocessor}.from_pretrained("${folder}")`, '```']
    case 'peft-lora': {
      const peftClass = task === 'causal-lm' ? 'AutoPeftModelForCausalLM' : task === 'image-classify' ? 'AutoPeftModel' : 'AutoPeftModelForSequenceClassification'
      const labels = facts.report.data?.labels
      const labelArgs = task === 'classify' || task === 'image-classify'
      return [
        `With PEFT, which builds the base from ${code('base_model_name_or_path')} in ${code('adapter_config.json')} (the path the run was trained from; change it if the base lives elsewhere)${labelArgs ? ', with the run\'s labels so the trained head fits' : ''}:`,
        '',
        '```python',
        `from peft import ${peftClass}`,
        '',
        ...(labelArgs && labels
          ? [`id2label = {${labels.map((l, i) => `${i}: ${JSON.stringify(l)}`).join(', ')}}`, `model = ${peftClass}.from_pretrained(`, `    "${folder}", num_labels=${labels.length}, id2label=id2label,`, '    label2id={name: i for i, name in id2label.items()}, ignore_mismatched_sizes=True)']
          : [`model = ${peftClass}.from_pretrained("${folder}")`]),
        'model = model.merge_and_unload()  # optional: a plain transformers model again',
        '```'
      ]
    }
    case 'adapter':
      return ['With SiVA Studio, put it back onto its base for a merged checkpoint, the same files `siva export --merged` writes:', '', '```sh', `siva export --apply ${folder} --base path/to/base-model --merged path/to/merged`, '```']
  }
}

/** The whole README.md: front matter, then the card. Deterministic: the same run and checkpoint give the same text. */
export function modelCardText(facts: ModelCardFacts): string {
  const { report } = facts
  const config = report.config
  const tfjs = facts.baseFormat === 'tfjs'
  const metadata = modelCardMetadata(facts)
  const base = metadata['base_model'] as string | undefined
  const lines: string[] = ['---', ...yamlLines(metadata, ''), '---', '', `# ${facts.name}`, '']

  const baseText = base ? `[${base}](https://huggingface.co/${base})` : `a local checkpoint (${code(basename(config.model))})`
  lines.push(`This model is ${baseText} fine-tuned with SiVA Studio ${facts.version}, method ${methodTitle(config.method)}, for ${taskTags[config.task].name.toLowerCase()}.`)
  if (!base) lines.push('', 'The base checkpoint names no Hugging Face Hub id (its `config.json` has no `_name_or_path` that is one, and the run read it from a local folder), so `base_model` is left out of the metadata.')
  lines.push('', outputParagraph(facts, tfjs), '')

  lines.push('## Method', '', methodParagraph(config.method), '')

  lines.push('## Training settings', '', '| setting | value |', '| --- | --- |')
  const settings: [string, string | undefined][] = [
    ['method', `${code(config.method)} (${methodTitle(config.method)})`],
    ['amount', amountText(config)],
    ['targets', methodInfo(config.method).kind === 'adapter' ? `${config.targets !== undefined ? code(config.targets) : "the architecture's default"}: ${report.targets.length} matrices` : undefined],
    ['per-layer overrides', methodInfo(config.method).kind === 'adapter' ? String(config.overrides?.length ?? 0) : undefined],
    ['epochs', String(config.epochs)],
    ['max steps', config.maxSteps !== undefined ? String(config.maxSteps) : undefined],
    ['steps trained', `${report.stepsDone}${report.totalSteps !== undefined ? ` of ${report.totalSteps}` : ''}`],
    ['batch size', `${config.batchSize}${config.gradientAccumulation > 1 ? ` × ${config.gradientAccumulation} accumulated` : ''}`],
    ['learning rate', `${config.lr} (head ${config.headLr})`],
    ['schedule', `${config.schedule}, warmup ${config.warmupRatio}`],
    ['weight decay', String(config.weightDecay)],
    ['max gradient norm', String(config.maxGradNorm)],
    ['max length', config.maxLength !== undefined ? String(config.maxLength) : undefined],
    ['seed', String(config.seed)],
    ['exported checkpoint', report.checkpoint ? `${code(report.checkpoint.name)} (step ${report.checkpoint.step})` : undefined]
  ]
  for (const [name, value] of settings) if (value !== undefined) lines.push(`| ${name} | ${value} |`)
  lines.push('')

  if (report.parameters) {
    const p = report.parameters
    lines.push('## Trainable parameters', '', '| | parameters |', '| --- | ---: |')
    lines.push(`| adapter | ${number(p.adapter)} |`, `| task head | ${number(p.head)} |`, `| total trained | ${number(p.total)} |`)
    lines.push(`| LoRA r = 8 on the same matrices, plus the head | ${number(p.lora8 + p.head)} |`, `| full fine-tuning | ${number(p.full)} |`, '')
    lines.push(`Trained parameters are ${ratioText(p.ratios.trainableToLora8)} of LoRA r = 8's and ${ratioText(p.ratios.trainableToFull)} of full fine-tuning's.`, '')
  }

  lines.push('## Evaluation', '')
  const { best, final } = report.metrics
  if (!best && !final) lines.push('The run was not evaluated.', '')
  else {
    const keys = [...new Set([...Object.keys(best?.metrics ?? {}), ...Object.keys(final?.metrics ?? {})])]
    lines.push(`On the validation data; the best step is chosen by ${code(report.metrics.key)} (${report.metrics.higherIsBetter ? 'higher' : 'lower'} is better).`, '')
    lines.push(`| metric |${best ? ` best (step ${best.step}) |` : ''}${final ? ` final (step ${final.step}) |` : ''}`, `| --- |${best ? ' ---: |' : ''}${final ? ' ---: |' : ''}`)
    for (const key of keys) lines.push(`| ${metricLabels[key] ?? key} |${best ? ` ${metricText(best.metrics[key])} |` : ''}${final ? ` ${metricText(final.metrics[key])} |` : ''}`)
    lines.push('', `"Final" is the last evaluation at or before the exported checkpoint${report.checkpoint ? ` (step ${report.checkpoint.step})` : ''}.`, '')
  }

  lines.push('## Training data', '')
  const fingerprints = report.run.data
  if (fingerprints) {
    lines.push('The data as it was when the run started (sha256 of the file; of a folder, of each file\'s relative path and content in name order):', '', '| split | file | files | bytes | sha256 |', '| --- | --- | ---: | ---: | --- |')
    for (const [split, f] of [['training', fingerprints.train], ...(fingerprints.validation ? [['validation', fingerprints.validation] as const] : [])] as const) lines.push(`| ${split} | ${code(basename(f.path))} | ${f.files} | ${number(f.bytes)} | ${code(f.sha256)} |`)
    lines.push('')
  } else lines.push('The run recorded no data fingerprint.', '')
  if (report.data) {
    lines.push(`${number(report.data.train)} training and ${number(report.data.validation)} validation examples${config.validation === undefined ? ` (a ${config.validationFraction} fraction held out of the training data)` : ''}.${report.data.labels ? ` Labels: ${report.data.labels.map(code).join(', ')}.` : ''}`, '')
  }

  lines.push('## Base model', '', base ? `[${base}](https://huggingface.co/${base})${typeof facts.baseConfig['model_type'] === 'string' ? ` (${code(facts.baseConfig['model_type'])})` : ''}.` : `${code(basename(config.model))}${typeof facts.baseConfig['model_type'] === 'string' ? ` (${code(facts.baseConfig['model_type'])})` : ''}, a local checkpoint.`, '')

  lines.push('## How to load', '', ...loadSection(facts, tfjs), '')

  lines.push('## Framework versions', '', `- SiVA Studio ${facts.version}`)
  const trained = Object.entries(report.run.versions).map(([name, version]) => `${name} ${version}`)
  if (trained.length > 0) lines.push(`- trained with ${trained.join(', ')}${report.run.backend ? ` on the ${report.run.backend} backend` : ''}`)
  lines.push('')
  return `${lines.join('\n')}`
}

/**
 * Write `card` as README.md into `dir` (through a temp file, so it is whole or absent) and return `files`
 * with README.md in it once: a README.md copied from the base is replaced, since it describes the base.
 * Without a card, `files` is returned as it is.
 */
export async function withModelCard(dir: string, card: string | undefined, files: string[]): Promise<string[]> {
  if (card === undefined) return files
  await writeFileAtomically(join(dir, modelCardFile), (handle) => writeFile(handle, card))
  return [...files.filter((f) => f !== modelCardFile), modelCardFile]
}

/**
 * The cards of one export, from the run at its exported checkpoint: the merged checkpoint's (which the
 * SiVA adapter also carries, for `--apply`), the adapter's and the PEFT adapter's.
 */
export async function runModelCards(restored: RestoredRun, modelDir: string, compact: boolean): Promise<Record<ModelCardOutput, string>> {
  const report = await buildReport(restored.runDir, { checkpoint: restored.checkpoint.name, live: false })
  const transformersClass = restored.plan.family.transformers.architectures[restored.plan.task]
  const license = await baseLicense(modelDir)
  const common = {
    report,
    name: basename(resolve(restored.runDir)),
    baseConfig: restored.source.config?.raw ?? {},
    baseFormat: restored.source.format,
    ...(transformersClass !== undefined && { transformersClass }),
    ...(license !== undefined && { license }),
    version: pkg.version
  }
  return {
    merged: modelCardText({ ...common, output: 'merged' }),
    adapter: modelCardText({ ...common, output: 'adapter', compact }),
    'peft-lora': modelCardText({ ...common, output: 'peft-lora' })
  }
}
