import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot, tempDir, tinyGpt2 } from '../helpers/paths'

// `siva data check` end to end on the real fixture files and the real tiny-random-gpt2 tokenizer.
function siva(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'data', 'check', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}
const fixture = (name: string): string => join(repoRoot, 'tests/fixtures/data', name)

describe('siva data check', () => {
  it('usable data: exit 0, summary, token lengths and a tokenised preview', () => {
    const run = siva('--data', fixture('train.csv'), '--task', 'classify', '--model', tinyGpt2, '--max-length', '3', '--json', '--quiet')
    expect(run.status).toBe(0)
    const report = JSON.parse(run.stdout) as {
      usable: boolean
      rows: number
      summary: { classes: { label: string; count: number }[]; tokens: { tooLong: number; longest: { row: number; tokens: number } } }
      preview: { row: number; text: string; label: string; ids: number[] }[]
      problems: { code: string; severity: string; row?: number; message: string }[]
    }
    expect(report.usable).toBe(true)
    expect(report.rows).toBe(4)
    expect(report.summary.classes.map((c) => [c.label, c.count]).sort()).toEqual([['neg', 2], ['pos', 2]])
    expect(report.preview.map((r) => r.row)).toEqual([2, 3, 4, 5])
    expect(report.preview[0]!.text).toBe('great film')
    expect(report.summary.tokens.tooLong).toBe(1)
    expect(report.summary.tokens.longest).toEqual({ row: 5, tokens: 4 })
    expect(report.problems.find((p) => p.code === 'text-too-long')).toMatchObject({ severity: 'warning', row: 5 })
  })

  it('unusable data: exit 1, every error listed with its row', () => {
    const run = siva('--data', fixture('empty-text.csv'), '--task', 'classify', '--quiet')
    expect(run.status).toBe(1)
    expect(run.stdout).toMatch(/empty-text\.csv, row 3: "text" is empty/)
    expect(run.stdout).toMatch(/empty-text\.csv, row 4: "text" is empty/)
    expect(run.stdout).toContain('usable: no')
  })

  it('a wrong column is named along with the columns found', () => {
    const run = siva('--data', fixture('train.csv'), '--task', 'classify', '--label-column', 'sentiment', '--quiet')
    expect(run.status).toBe(1)
    expect(run.stdout).toContain('column "sentiment" not found in train.csv; columns: text, label')
  })

  it('causal LM prompt/completion: rows named, tokenised preview, exit 1 on errors', () => {
    const run = siva('--data', fixture('e2e.jsonl'), '--task', 'causal-lm', '--model', tinyGpt2, '--quiet')
    expect(run.status).toBe(1)
    expect(run.stdout).toContain('columns: prompt = prompt, completion = completion')
    expect(run.stdout).toContain('e2e.jsonl, row 3: "completion" is empty')
    expect(run.stdout).toContain('e2e.jsonl, row 4: "completion" should be text, found nothing')
    expect(run.stdout).toContain('e2e.jsonl, row 5: "prompt" should be text, found a list')
    expect(run.stdout).toMatch(/row 1: "name\[The Eagle\].*" ⇒ " The Eagle is a coffee shop.*\(\d+ tokens: [\d ]+/)
    expect(run.stdout).toContain('usable: no — fix the 3 errors above')
  })

  it('causal LM plain text: usable, with a token-length histogram', () => {
    const run = siva('--data', fixture('paragraphs.txt'), '--task', 'causal-lm', '--paragraphs', '--model', tinyGpt2, '--quiet')
    expect(run.status).toBe(0)
    expect(run.stdout).toContain('3 usable rows, causal-lm')
    expect(run.stdout).toMatch(/length in tokens: min \d+/)
    expect(run.stdout).toMatch(/ {2,}0–15 █+ 3/)
    expect(run.stdout).toContain('usable: yes')
  })

  it('a validation file is checked against the training labels', () => {
    const run = siva('--data', fixture('train.csv'), '--validation', fixture('dev.csv'), '--task', 'classify', '--json', '--quiet')
    expect(run.status).toBe(1)
    const report = JSON.parse(run.stdout) as { usable: boolean; validation: { usable: boolean; problems: { code: string; row?: number }[] } }
    expect(report.usable).toBe(false)
    expect(report.validation.problems).toContainEqual(expect.objectContaining({ code: 'label-unseen', row: 4 }))
  })

  it('usage mistakes exit 2 with a pointer to the help', () => {
    const run = siva('--data', fixture('train.csv'), '--task', 'summarise')
    expect(run.status).toBe(2)
    expect(run.stderr).toMatch(/--task must be classify, regress, causal-lm or image-classify, got 'summarise'/)
    const pair = siva('--data', fixture('lines.txt'), '--task', 'causal-lm', '--label-column', 'x')
    expect(pair.status).toBe(2)
  })

  it('image folders: every image decoded, classes counted, preprocessing described', () => {
    const vit = tempDir('vit-preprocessor')
    writeFileSync(join(vit, 'preprocessor_config.json'), JSON.stringify({ do_resize: true, size: { height: 32, width: 32 }, resample: 2, do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] }))
    const run = siva('--data', fixture('images/digits'), '--task', 'image-classify', '--model', vit, '--quiet')
    expect(run.status).toBe(0)
    expect(run.stdout).toContain('9 images, image-classification')
    expect(run.stdout).toContain('classes (3): 0 3, 1 3, 2 3')
    expect(run.stdout).toContain('preprocessing (from preprocessor_config.json): resized to 32×32 (bilinear), scaled by 1/255, normalised with mean [0.5, 0.5, 0.5] and std [0.5, 0.5, 0.5]')
    expect(run.stdout).toMatch(/0\/0-b\.jpg → "0" {2}\(jpeg 28×28\)/)
  })

  it('a broken image dataset: exit 1, each bad image named with its row', () => {
    const run = siva('--data', fixture('images/broken.csv'), '--task', 'image-classify', '--json', '--quiet')
    expect(run.status).toBe(1)
    const report = JSON.parse(run.stdout) as { usable: boolean; problems: { code: string; severity: string; row?: number }[] }
    const errors = report.problems.filter((p) => p.severity === 'error').map((p) => p.code)
    expect(errors).toEqual(expect.arrayContaining(['image-missing', 'image-undecodable', 'image-unsupported-format']))
    expect(report.problems.filter((p) => p.severity === 'error').every((p) => typeof p.row === 'number')).toBe(true)
  })
})

