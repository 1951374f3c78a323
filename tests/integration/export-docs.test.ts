import { mkdirSync, readFileSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { exportRun } from '../../src/main/engine/export/exportRun'
import { defaultTrainConfig, trainRun } from '../../src/main/engine/training/loop'
import type { TrainConfig } from '../../src/shared/training'
import { inProcessDecompose as decompose } from '../helpers/decompose'
import { hfFixture, hfFixtures, hfReference, runHfPython } from '../helpers/hfref'
import { repoRoot, tempDir } from '../helpers/paths'

// docs/export.md's Python snippets, run as written by the REAL transformers 4.44 and peft 0.12
// (../shared/hfref) on exports of runs on transformers-made checkpoints. Each ```python block carries an
// HTML comment naming the run it needs (`<!-- docs-test: NAME -->`, invisible when the page is rendered);
// the block runs in a folder where `exports/…`, `path/to/base-model`, `path/to/gpt2` and `photo.png` are
// what its text says. A block without the comment fails the test, so none goes unrun.

interface Scenario {
  base: string
  task: TrainConfig['task']
  data: string
  /** Other names the snippets use for the base. */
  baseLinks: string[]
}

const scenarios: Record<string, Scenario> = {
  'bert-classify': { base: 'bert-cls', task: 'classify', data: 'two.csv', baseLinks: ['path/to/base-model'] },
  'gpt2-classify': { base: 'gpt2-lm', task: 'classify', data: 'two.csv', baseLinks: ['path/to/gpt2'] },
  'gpt2-causal-lm': { base: 'gpt2-lm', task: 'causal-lm', data: 'lm.csv', baseLinks: ['path/to/gpt2'] },
  'vit-image': { base: 'vit-cls', task: 'image-classify', data: 'images', baseLinks: ['path/to/base-model'] }
}

interface Snippet {
  scenario: string
  code: string
  line: number
}

function snippets(): Snippet[] {
  const text = readFileSync(join(repoRoot, 'docs', 'export.md'), 'utf8')
  const found: Snippet[] = []
  const block = /^```python\n([\s\S]*?)^```$/gm
  for (const match of text.matchAll(block)) {
    const before = text.slice(0, match.index)
    const line = before.split('\n').length
    const comment = /<!-- docs-test: ([\w-]+) -->\n$/.exec(before)
    found.push({ scenario: comment?.[1] ?? '', code: match[1]!, line })
  }
  return found
}

/** Tensor names transformers' loading warnings mention: "newly initialized: ['a', …]", "not used …: [...]", "- a: found shape …". */
function weightsNamed(stderr: string): string[] {
  const names: string[] = []
  for (const match of stderr.matchAll(/(?:newly initialized|were not used when initializing \w+): \[([^\]]*)\]/g)) {
    for (const name of match[1]!.matchAll(/'([^']+)'/g)) names.push(name[1]!)
  }
  for (const match of stderr.matchAll(/^- ([\w.]+): found shape/gm)) names.push(match[1]!)
  return names
}

/** The classes a scenario's run trained on (two.csv: food and other). */
function runLabels(scenario: string): string[] {
  return scenarios[scenario]!.data === 'two.csv' ? ['food', 'other'] : []
}

const folders = new Map<string, string>()
let inputs: string

beforeAll(async () => {
  inputs = tempDir('export-docs-inputs')
  hfReference('hf_export_inputs.py', [hfFixtures(), inputs])
  const used = new Set(snippets().map((s) => s.scenario))
  for (const name of used) {
    const scenario = scenarios[name]
    if (!scenario) continue
    const dir = tempDir(`export-docs-${name}`)
    const base = hfFixture(scenario.base)
    const runDir = join(dir, 'run')
    const config = defaultTrainConfig({
      model: base,
      data: join(inputs, scenario.data),
      task: scenario.task,
      maxSteps: 3,
      batchSize: 8,
      lr: 0.05,
      seed: 1,
      backend: 'wasm',
      ...(scenario.task !== 'image-classify' && { maxLength: 32 })
    })
    for await (const event of trainRun(config, runDir, { decompose })) {
      if (event.type === 'error') throw new Error(`${name}: training failed: ${event.message}`)
    }
    const exports = join(dir, 'exports')
    await exportRun({ runDir, checkpoint: 'last', outputs: { merged: join(exports, 'merged'), 'peft-lora': join(exports, 'peft-lora'), adapter: join(exports, 'adapter') } }, { decompose })
    for (const link of scenario.baseLinks) {
      mkdirSync(join(dir, link, '..'), { recursive: true })
      symlinkSync(base, join(dir, link))
    }
    copyFileSync(join(inputs, 'images', 'red', '0.png'), join(dir, 'photo.png'))
    folders.set(name, dir)
  }
}, 300_000)

describe("docs/export.md's Python snippets run as written in the real transformers and peft", () => {
  it('every python block names the run it needs', () => {
    const all = snippets()
    expect(all.length).toBeGreaterThanOrEqual(8)
    for (const s of all) expect(Object.keys(scenarios), `docs/export.md line ${s.line}: a python block without <!-- docs-test: NAME --> before it`).toContain(s.scenario)
  })

  for (const [i, s] of snippets().entries()) {
    it(`line ${s.line} (${s.scenario}): ${s.code.split('\n').find((l) => /from_pretrained|load_file/.test(l))?.trim().slice(0, 80) ?? ''}`, () => {
      const dir = folders.get(s.scenario)
      expect(dir, `no run for ${s.scenario}`).toBeDefined()
      const file = join(dir!, `snippet-${i}.py`)
      writeFileSync(file, s.code)
      // run_snippet.py: AutoTokenizer's default becomes use_fast=False, the Rust tokenizers being the one
      // part of the stack that cannot be installed here; the snippet's text is run unchanged.
      const result = runHfPython(join(repoRoot, 'tests', 'reference', 'run_snippet.py'), [file], { allowFailure: true, cwd: dir! })
      expect(result.status, `docs/export.md line ${s.line} failed:\n${result.stderr.slice(-3000)}`).toBe(0)
      // Loading a merged folder prints nothing about weights; loading a base for PEFT may say that its
      // classification head was made anew (the adapter's modules_to_save replaces it), and nothing else.
      // A snippet that prints the loaded model's labels shows the run's classes, not the base's.
      if (s.code.includes('print(model.config.id2label)')) for (const label of runLabels(s.scenario)) expect(result.stdout).toContain(`'${label}'`)
      const named = weightsNamed(result.stderr)
      if (/from_pretrained\("exports\/merged"\)/.test(s.code)) expect(named, result.stderr).toEqual([])
      for (const name of named) expect(name, result.stderr).toMatch(/^(classifier|score)\./)
    })
  }
})
