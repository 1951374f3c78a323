import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { hfFixture, hfReference } from '../helpers/hfref'
import { repoRoot, tempDir } from '../helpers/paths'

// The real `siva generate` (bin/siva.mjs → src/main/cli.ts) against the real transformers 4.44
// (tests/reference/hf_generate.py: tokenizer(prompt), generate(do_sample=False), decode): the base model's
// continuation on hfref's gpt2-lm and qwen2-lm, and a SiVA run's (trained here with `siva train`) against
// transformers' greedy continuation on the same run exported with `siva export --merged`.

function siva(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 180_000 })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

interface Side {
  promptIds: number[]
  ids: number[]
  text: string
  stoppedBy: 'eos' | 'length' | 'cancel'
  seconds: number
}

interface Preview {
  model: string
  stopIds: number[]
  base: Side
  adapted?: Side & { checkpoint: { name: string; step: number } }
}

interface HfGeneration {
  prompt_ids: number[]
  ids: number[]
  text: string
}

const prompt = 'Hello world, this is'
const scratch = tempDir('generate-cli')
const svdCache = join(scratch, 'svd')
let runDir: string
let merged: string
let qwen: string

beforeAll(() => {
  qwen = hfFixture('qwen2-lm')
  const data = join(scratch, 'data.jsonl')
  // One pattern, taught hard (a large lr on half the spectrum), so that the adapted continuation differs.
  writeFileSync(data, Array.from({ length: 24 }, () => JSON.stringify({ prompt, completion: ' the end of the story.' })).join('\n') + '\n')
  runDir = join(scratch, 'run')
  const trained = siva(['train', '--model', qwen, '--data', data, '--task', 'causal-lm', '--out', runDir, '--max-steps', '8', '--batch-size', '8', '--lr', '0.5', '--perc', '0.5', '--seed', '1', '--backend', 'wasm', '--svd-cache', svdCache, '--quiet'])
  expect(trained.status, trained.stderr).toBe(0)
  merged = join(scratch, 'merged')
  const exported = siva(['export', runDir, '--checkpoint', 'last', '--merged', merged, '--svd-cache', svdCache, '--quiet'])
  expect(exported.status, exported.stderr).toBe(0)
}, 300_000)

/**
 * The two `siva generate --json` runs compared with transformers, and transformers' continuations for both,
 * asked of hf_generate.py in one call (one Python start, torch and transformers loaded once for the three
 * jobs). Made when first asked for; each job is given the stop ids that its run reported.
 */
let compared: { gpt2: Preview; run: Preview; expected: { gpt2: HfGeneration; base: HfGeneration; adapted: HfGeneration } } | undefined
function comparedWithTransformers(): NonNullable<typeof compared> {
  if (!compared) {
    const gpt2Model = hfFixture('gpt2-lm')
    const gpt2Run = siva(['generate', '--model', gpt2Model, '--prompt', 'The cat sat on', '--max-new-tokens', '12', '--json', '--quiet'])
    expect(gpt2Run.status, gpt2Run.stderr).toBe(0)
    const runRun = siva(['generate', '--run', runDir, '--checkpoint', 'last', '--prompt', prompt, '--max-new-tokens', '10', '--json', '--quiet', '--svd-cache', svdCache])
    expect(runRun.status, runRun.stderr).toBe(0)
    const gpt2 = JSON.parse(gpt2Run.stdout) as Preview
    const run = JSON.parse(runRun.stdout) as Preview
    const jobs = [
      { model: gpt2Model, prompt: 'The cat sat on', max_new_tokens: 12, eos_token_id: gpt2.stopIds },
      ...[qwen, merged].map((model) => ({ model, prompt, max_new_tokens: 10, eos_token_id: run.stopIds }))
    ]
    const [gpt2Expected, base, adapted] = hfReference<{ results: HfGeneration[] }>('hf_generate.py', [], { jobs }).results
    compared = { gpt2, run, expected: { gpt2: gpt2Expected!, base: base!, adapted: adapted! } }
  }
  return compared
}

describe('siva generate', () => {
  it('continues a prompt with the base model as transformers generate does (GPT-2, stopping on eos)', () => {
    const { gpt2: result, expected: { gpt2: expected } } = comparedWithTransformers()
    expect(result.stopIds).toEqual([0]) // <|endoftext|>, eos in tokenizer and generation_config.json alike
    expect(result.adapted).toBeUndefined()
    expect(result.base.promptIds).toEqual(expected.prompt_ids)
    expect(result.base.ids).toEqual(expected.ids)
    expect(result.base.text).toBe(expected.text)
    expect(result.base.stoppedBy).toBe(expected.ids.length < 12 ? 'eos' : 'length')
  }, 180_000)

  it('puts a run’s adapted continuation beside the base one; the adapted one is transformers’ on the merged export', () => {
    const { run: result, expected: { base, adapted } } = comparedWithTransformers()
    expect(result.model).toBe(qwen)
    // Qwen2's eos <|endoftext|> (1062) and its chat end-of-turn <|im_end|>.
    expect(result.stopIds).toHaveLength(2)
    expect(result.stopIds).toContain(1062)
    expect(result.adapted!.checkpoint.step).toBe(8)
    expect(result.base.promptIds).toEqual(base.prompt_ids)
    expect(result.base.ids).toEqual(base.ids)
    expect(result.base.text).toBe(base.text)
    expect(result.adapted!.ids).toEqual(adapted.ids)
    expect(result.adapted!.text).toBe(adapted.text)
    // The comparison means something: training changed the continuation.
    expect(result.adapted!.ids).not.toEqual(result.base.ids)
  }, 180_000)

  it('prints both continuations, labelled, without --json', () => {
    const run = siva(['generate', '--run', runDir, '--prompt', prompt, '--max-new-tokens', '4', '--svd-cache', svdCache])
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^prompt: Hello world, this is\n\nbase \(.*qwen2-lm; 4 tokens, reached --max-new-tokens, [\d.]+ tokens\/s\):\nHello world, this is.*\n\nadapted \(checkpoint step-0*8, step 8; /)
    expect(run.stderr).toContain('siva generate: restoring the run')
  }, 180_000)

  it('refuses bad arguments with a usage error naming the flag', () => {
    const cases: [string[], RegExp][] = [
      [['--model', qwen], /--prompt TEXT/],
      [['--prompt', 'x'], /--model MODEL/],
      [['--model', qwen, '--prompt', 'x', '--max-new-tokens', '0'], /--max-new-tokens must be a whole number from 1 to 1024, got '0'/],
      [['--model', qwen, '--prompt', 'x', '--checkpoint', 'last'], /--checkpoint applies to --run/],
      [['--run', '/nonexistent', '--prompt', 'x', '--checkpoint', 'soon'], /--checkpoint must be best, last or a step number/]
    ]
    for (const [args, message] of cases) {
      const run = siva(['generate', ...args])
      expect(run.status, args.join(' ')).toBe(2)
      expect(run.stderr).toMatch(message)
    }
    const other = siva(['generate', '--run', runDir, '--model', hfFixture('gpt2-lm'), '--prompt', 'x', '--quiet'])
    expect(other.status).toBe(1)
    expect(other.stderr).toMatch(/the run was trained from .*qwen2-lm, not .*gpt2-lm/)
  }, 120_000)
})
