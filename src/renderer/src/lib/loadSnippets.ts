import type { ExportKind } from '@shared/api'
import type { ExportFacts } from '@shared/exportOptions'
import { isDecoderModelType } from '@shared/modelTypes'
import { joinPath } from './paths'

/**
 * The lines that load an export, in the forms docs/export.md gives (and its tests run): transformers'
 * Auto classes for a merged checkpoint, PEFT's AutoPeftModel… for a LoRA adapter, `siva export --apply`
 * for the SiVA adapter, tf.loadGraphModel for the sentence encoder. Derived from the run's task and the
 * transformers class its family loads for it.
 */
export interface LoadSnippet {
  language: 'python' | 'javascript' | 'shell'
  /** What the lines need ("Python with transformers"). */
  needs: string
  text: string
}

export interface SnippetContext {
  facts: ExportFacts
  /** The run's base model (for the SiVA adapter's --apply, and PEFT's base). */
  baseModel: string
  /** Classification: the class names in id order. */
  labels?: string[]
}

/** A path as a Python (and JavaScript) string literal. */
const literal = (text: string): string => JSON.stringify(text)

/** `{0: "ham", 1: "spam"}` */
function id2label(labels: readonly string[]): string {
  return `{${labels.map((label, i) => `${i}: ${literal(label)}`).join(', ')}}`
}

const autoClasses: Record<ExportFacts['task'], { model: string; peft: string; processor: string }> = {
  classify: { model: 'AutoModelForSequenceClassification', peft: 'AutoPeftModelForSequenceClassification', processor: 'AutoTokenizer' },
  regress: { model: 'AutoModelForSequenceClassification', peft: 'AutoPeftModelForSequenceClassification', processor: 'AutoTokenizer' },
  'causal-lm': { model: 'AutoModelForCausalLM', peft: 'AutoPeftModelForCausalLM', processor: 'AutoTokenizer' },
  'image-classify': { model: 'AutoModelForImageClassification', peft: 'AutoPeftModel', processor: 'AutoImageProcessor' }
}

/** The lines that load output `kind` written to `dir`; undefined for the report (a page to open, not to load). */
export function loadSnippet(kind: ExportKind, dir: string, context: SnippetContext): LoadSnippet | undefined {
  const { facts } = context
  switch (kind) {
    case 'merged':
      return facts.model.format === 'tfjs' ? graphModelLines(dir) : mergedLines(dir, facts)
    case 'adapter':
      return {
        language: 'shell',
        needs: 'the siva command of SiVA Studio',
        text: `siva export --apply ${shellQuote(dir)} --base ${shellQuote(context.baseModel)} --merged ${shellQuote(`${dir.replace(/[\\/]+$/, '')}-merged`)}`
      }
    case 'peft-lora':
      return peftLines(dir, context)
    case 'report':
      return undefined
  }
}

function mergedLines(dir: string, facts: ExportFacts): LoadSnippet {
  const auto = autoClasses[facts.task]
  const loads = facts.model.transformersClass ? `   # loads as ${facts.model.transformersClass}` : ''
  const processor = auto.processor === 'AutoTokenizer' ? 'tokenizer' : 'processor'
  return {
    language: 'python',
    needs: 'Python with transformers',
    text: [`from transformers import ${auto.model}, ${auto.processor}`, '', `model = ${auto.model}.from_pretrained(${literal(dir)})${loads}`, `${processor} = ${auto.processor}.from_pretrained(${literal(dir)})`].join('\n')
  }
}

function graphModelLines(dir: string): LoadSnippet {
  const url = `file://${joinPath(dir, 'model.json').replace(/\\/g, '/')}`
  return {
    language: 'javascript',
    needs: 'Node.js with @tensorflow/tfjs-node',
    text: [
      `const model = await tf.loadGraphModel(${literal(url)})`,
      '// ids: SentencePiece ids per text, fed sparse as the encoder takes them',
      'const indices = tf.tensor2d(ids.flatMap((row, r) => row.map((_, j) => [r, j])), undefined, "int32")',
      'const values = tf.tensor1d(ids.flat(), "int32")',
      'const logits = await model.executeAsync({ indices, values })   // [texts, classes]'
    ].join('\n')
  }
}

function peftLines(dir: string, context: SnippetContext): LoadSnippet {
  const { facts, labels } = context
  const auto = autoClasses[facts.task]
  const lines = [`from peft import ${auto.peft}`, '']
  const decoderClassifier = isDecoderModelType(facts.model.modelType) && (facts.task === 'classify' || facts.task === 'regress')
  let extra = ''
  if (facts.task === 'causal-lm') {
    lines.push(`model = ${auto.peft}.from_pretrained(${literal(dir)})`)
    return { language: 'python', needs: 'Python with transformers and peft', text: lines.join('\n') }
  }
  if (decoderClassifier) {
    // GPT-2 (and many Llama-style checkpoints) have no pad id, and their classifier refuses a batch without one (docs/export.md).
    lines.splice(0, 0, 'from transformers import AutoTokenizer')
    lines.push(`tokenizer = AutoTokenizer.from_pretrained(${literal(context.baseModel)}, split_special_tokens=True)`, 'tokenizer.pad_token = tokenizer.eos_token')
    extra = ', pad_token_id=tokenizer.eos_token_id'
  }
  if (facts.task === 'regress') {
    lines.push(`model = ${auto.peft}.from_pretrained(`, `    ${literal(dir)}, num_labels=1, ignore_mismatched_sizes=True${extra})`)
  } else if (labels && labels.length > 0) {
    lines.push(
      `id2label = ${id2label(labels)}`,
      `model = ${auto.peft}.from_pretrained(`,
      `    ${literal(dir)}, num_labels=len(id2label), id2label=id2label,`,
      `    label2id={v: k for k, v in id2label.items()}, ignore_mismatched_sizes=True${extra})`
    )
  } else {
    lines.push('# the run\'s classes were not found: pass num_labels, id2label and label2id for them', `model = ${auto.peft}.from_pretrained(${literal(dir)}, ignore_mismatched_sizes=True${extra})`)
  }
  lines.push('model = model.merge_and_unload()   # optional: a plain transformers model again')
  return { language: 'python', needs: 'Python with transformers and peft', text: lines.join('\n') }
}

/** A path for a POSIX shell: bare when it is plain, else in single quotes. */
function shellQuote(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`
}
