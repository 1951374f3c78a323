import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { chatmlTemplate, withChatTemplate } from '../helpers/chatTemplates'
import { startFakeHub, type FakeHub } from '../helpers/fakeHub'
import { hfReference } from '../helpers/hfref'
import { commitOf } from '../helpers/hubCacheLayout'
import { repoRoot, tempDir } from '../helpers/paths'
import { sentimentCsv, tinyBertWithTokenizer } from '../helpers/tinyModels'

/**
 * The real UI in a real browser: the built renderer served by `siva serve`, Debian's Chromium driven by
 * playwright-core, and real engine work behind every click. Each step saves a screenshot in test-results/.
 */
const chromiumPath = '/usr/bin/chromium'
const shots = join(repoRoot, 'test-results')

let server: ChildProcess
let url: string
let browser: BrowserContext
let page: Page
let root: string
let model: string
let data: string
/** The Model step's Download goes here: the real Hub cannot be reached from this machine (tests/helpers/fakeHub.ts). */
let hub: FakeHub
const hubCommit = commitOf('wizard-download')

/** The header's Start over, confirmed: the back end forgets the wizard and the page loads afresh. */
async function startOver(): Promise<void> {
  await page.getByTestId('start-over').click()
  await Promise.all([page.waitForEvent('load'), page.getByTestId('confirm-accept').click()])
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })
}

if (!existsSync(chromiumPath)) console.warn(`[wizard end-to-end test skipped] no ${chromiumPath}: install Debian's chromium (apt-get install chromium; .ci/run does).`)

describe.skipIf(!existsSync(chromiumPath))('the wizard in Chromium against siva serve', () => {
  beforeAll(async () => {
    root = tempDir('wizard')
    model = tinyBertWithTokenizer(join(root, 'tiny-bert'))
    data = sentimentCsv(join(root, 'sentiment.csv'), 64)
    const out = join(root, 'build')
    execFileSync(process.execPath, [join(repoRoot, 'node_modules/electron-vite/bin/electron-vite.js'), 'build', '--outDir', out], { cwd: repoRoot, stdio: 'pipe' })
    mkdirSync(shots, { recursive: true })
    const files = Object.fromEntries(readdirSync(model).map((name) => [name, readFileSync(join(model, name))]))
    hub = await startFakeHub([{ id: 'acme/tiny-bert', refs: { main: hubCommit }, commits: { [hubCommit]: files } }])
    const { HF_HUB_OFFLINE: _offline, TRANSFORMERS_OFFLINE: _transformersOffline, HF_TOKEN: _token, ...inherited } = process.env
    const hfEnv = { HF_HUB_CACHE: join(root, 'hf', 'hub'), HF_HOME: join(root, 'hf'), HF_ENDPOINT: hub.url }
    server = spawn(process.execPath, [join(repoRoot, 'bin/siva.mjs'), 'serve', '--port', '0', '--runs-dir', join(root, 'runs'), '--svd-cache', join(root, 'cache'), '--renderer', join(out, 'renderer'), '--quiet'], { cwd: repoRoot, env: { ...inherited, ...hfEnv } })
    url = await new Promise<string>((resolve, reject) => {
      let text = ''
      server.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString()
        const match = /serving at (\S+)/.exec(text)
        if (match) resolve(match[1]!)
      })
      server.on('exit', (code) => reject(new Error(`siva serve exited with ${code}`)))
    })
    // A fresh profile each run (Playwright takes it as the persistent context's folder, not as a flag).
    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'siva-chromium-')), {
      executablePath: chromiumPath,
      headless: true,
      viewport: { width: 1366, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    page = browser.pages()[0] ?? (await browser.newPage())
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`))
  }, 240_000)

  afterAll(async () => {
    await browser?.close()
    server?.kill('SIGTERM')
    await hub?.close()
  })

  it('opens a checkpoint and shows what it is', async () => {
    await page.goto(url)
    await page.getByTestId('model-path').fill(model)
    await page.getByTestId('model-open').click()
    const summary = page.getByTestId('model-summary')
    await summary.waitFor()
    await expect.poll(() => summary.textContent()).toMatch(/bert/i)
    await shot('1-model')
  })

  it('opens a checkpoint dropped on the Model step as a path, and says why a dropped file cannot be opened in a browser', async () => {
    // A reload keeps the wizard: the back end saved it, and the model is open again.
    await page.reload()
    await page.getByTestId('model-summary').waitFor()
    expect(await page.getByTestId('model-path').inputValue()).toBe(model)
    // Start over forgets it (on this back end): a fresh wizard, nothing open.
    await startOver()
    await page.getByTestId('model-drop').waitFor()
    expect(await page.getByTestId('model-summary').count()).toBe(0)
    const zone = page.getByTestId('model-drop')
    // A file from the user's disk: a browser never tells the page where it is, so the zone says so instead of failing silently.
    await page.evaluate(dragScript('model-drop', { file: 'config.json' }, ['dragenter', 'dragover']))
    await expect.poll(() => zone.getAttribute('data-over')).toBe('true')
    expect(await zone.textContent()).toMatch(/Dropping files works in the desktop app/)
    await shot('1-model-drop-file')
    await page.evaluate(dragScript('model-drop', { file: 'config.json' }, ['drop']))
    expect(await page.getByTestId('model-drop-problem').textContent()).toMatch(/type or paste the path on the server/)
    // The path as text: the zone lights up while it is dragged over (both themes), and the drop opens the model.
    await page.evaluate(dragScript('model-drop', { text: model }, ['dragenter', 'dragover']))
    await expect.poll(() => zone.textContent()).toMatch(/Drop to open it/)
    await shot('1-model-drop-light')
    // Each colour is light-dark(light, dark): the chosen theme's color-scheme picks the side.
    const background = (): Promise<string> => page.evaluate('getComputedStyle(document.body).backgroundColor') as Promise<string>
    expect(await background()).toBe('rgb(247, 247, 249)')
    await page.getByTestId('theme-toggle').click()
    await expect.poll(() => page.evaluate('document.documentElement.dataset.theme')).toBe('dark')
    expect(await background()).toBe('rgb(21, 23, 28)')
    await shot('1-model-drop-dark')
    await page.getByTestId('theme-toggle').click()
    expect(await background()).toBe('rgb(247, 247, 249)')
    await page.evaluate(dragScript('model-drop', { text: model }, ['drop']))
    const summary = page.getByTestId('model-summary')
    await summary.waitFor()
    await expect.poll(() => summary.textContent()).toMatch(/bert/i)
    expect(await page.getByTestId('model-path').inputValue()).toBe(model)
    expect(await zone.getAttribute('data-over')).toBeNull()
    expect(await page.getByTestId('model-drop-problem').count()).toBe(0)
    await shot('1-model-dropped')
  })

  it('checks the data and lists what it found', async () => {
    await page.getByTestId('nav-data').click()
    await page.getByTestId('data-path').fill(data)
    await page.getByTestId('data-task').selectOption('classify')
    await page.getByTestId('data-check').click()
    await expect.poll(() => page.getByTestId('data-result').textContent(), { timeout: 60_000 }).toMatch(/64/)
    await shot('2-data')
  })

  it('analyses the layers and selects targets by pattern, with the parameter count', async () => {
    await page.getByTestId('nav-layers').click()
    const table = page.getByTestId('layers-table')
    await table.waitFor()
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 60_000 }).toBe(12)
    await page.getByTestId('layers-pattern').fill('attention\\.self\\.(query|value)')
    await page.getByTestId('layers-pattern').press('Enter')
    // 4 matrices of 32×32 at perc 0.1: k = 3 each.
    await expect.poll(() => page.getByTestId('param-count-adapter').textContent(), { timeout: 30_000 }).toMatch(/^\s*12\s*$/)
    await shot('3-layers')
  })

  it('trains, with the charts updating; pauses, resumes and cancels', async () => {
    await page.getByTestId('nav-train').click()
    // Enough steps, evaluations and spectra for the charts to show something.
    for (const [field, value] of [['batchSize', '8'], ['epochs', '200'], ['evalEvery', '4'], ['spectraEvery', '2'], ['lr', '0.05']] as const) await page.getByTestId(`train-${field}`).fill(value)
    await page.getByTestId('train-start').click()
    await expect.poll(async () => Number(/step (\d+)/i.exec((await page.getByTestId('train-status').textContent()) ?? '')?.[1] ?? 0), { timeout: 120_000 }).toBeGreaterThanOrEqual(16)
    await page.getByTestId('loss-chart').waitFor()
    await shot('4-train')
    // The run outlives the page: a reload lands on the Train step again, says it reattached, replays the
    // run's events into the charts and shows the run's own settings (lr 0.05), which the form keeps too.
    await page.reload()
    await expect.poll(() => page.getByTestId('nav-train').getAttribute('aria-current'), { timeout: 30_000 }).toBe('step')
    await expect.poll(async () => Number(/step (\d+)/i.exec((await page.getByTestId('train-status').textContent()) ?? '')?.[1] ?? 0), { timeout: 60_000 }).toBeGreaterThanOrEqual(16)
    await expect.poll(() => page.getByTestId('run-reattached').textContent(), { timeout: 30_000 }).toMatch(/Reattached/)
    expect(await page.getByTestId('run-config-learning-rate').textContent()).toMatch(/0\.05/)
    expect(await page.getByTestId('train-lr').inputValue()).toBe('0.05')
    expect(await page.getByTestId('spectrum-multiple').count()).toBe(4)
    await shot('4-train-reattached')
    await page.getByTestId('train-pause').click()
    await expect.poll(() => page.getByTestId('train-status').textContent(), { timeout: 60_000 }).toMatch(/paused/i)
    await page.getByTestId('train-resume').click()
    await expect.poll(() => page.getByTestId('train-status').textContent(), { timeout: 60_000 }).toMatch(/running|step/i)
    page.once('dialog', (dialog) => void dialog.accept())
    await page.getByTestId('train-cancel').click()
    const confirm = page.getByTestId('confirm-accept')
    if (await confirm.isVisible().catch(() => false)) await confirm.click()
    await expect.poll(() => page.getByTestId('train-status').textContent(), { timeout: 60_000 }).toMatch(/cancelled/i)
    await shot('5-train-cancelled')
  })

  it('exports the run and shows what was written', async () => {
    await page.getByTestId('nav-export').click()
    await shot('6-export-form')
    await page.getByTestId('export-start').click()
    const outcome = page.getByTestId('export-result').or(page.getByTestId('export-error'))
    await outcome.first().waitFor({ timeout: 100_000 })
    if ((await page.getByTestId('export-error').count()) > 0) throw new Error(`the export failed: ${await page.getByTestId('export-error').textContent()}`)
    expect(await page.getByTestId('export-result').textContent()).toMatch(/adapter/i)
    await shot('6-export')
    expect(readdirSync(join(root, 'runs')).length).toBe(1)
  })

  it('every control on every step has an accessible name, and the steps are reachable by keyboard', async () => {
    const unnamed: string[] = []
    for (const step of ['model', 'data', 'layers', 'train', 'export', 'runs', 'inspect']) {
      await page.getByTestId(`nav-${step}`).click()
      unnamed.push(
        ...((await page.evaluate(unnamedControlsScript(step))) as string[])
      )
    }
    expect(unnamed).toEqual([])
    // From the step bar, the arrow keys move between steps and the current one is marked for assistive technology.
    await page.getByTestId('nav-model').focus()
    await page.keyboard.press('ArrowRight')
    await expect.poll(() => page.evaluate('document.activeElement?.getAttribute("data-testid")')).toBe('nav-data')
    await page.keyboard.press('Enter')
    await expect.poll(() => page.getByTestId('nav-data').getAttribute('aria-current')).toBe('step')
    await shot('7-keyboard')
  })

  it('compares a run that is still training with the cancelled one, its curves and steps following it live', async () => {
    // The train test reloaded the page: open the model and the data again, and start a second run.
    await page.getByTestId('nav-model').click()
    await page.getByTestId('model-path').fill(model)
    await page.getByTestId('model-open').click()
    await page.getByTestId('model-summary').waitFor()
    await page.getByTestId('nav-data').click()
    await page.getByTestId('data-path').fill(data)
    await page.getByTestId('data-task').selectOption('classify')
    await page.getByTestId('data-check').click()
    await expect.poll(() => page.getByTestId('data-result').textContent(), { timeout: 60_000 }).toMatch(/64/)
    await page.getByTestId('nav-train').click()
    for (const [field, value] of [['batchSize', '8'], ['epochs', '200'], ['evalEvery', '4'], ['spectraEvery', '2'], ['lr', '0.05']] as const) await page.getByTestId(`train-${field}`).fill(value)
    await page.getByTestId('train-start').click()
    await expect.poll(async () => Number(/step (\d+)/i.exec((await page.getByTestId('train-status').textContent()) ?? '')?.[1] ?? 0), { timeout: 120_000 }).toBeGreaterThanOrEqual(4)

    await page.getByTestId('nav-runs').click()
    const ticks = page.getByTestId('run-compare')
    await expect.poll(() => ticks.count(), { timeout: 30_000 }).toBe(2)
    for (const tick of await ticks.all()) await tick.check()
    await page.getByTestId('runs-compare').click()
    const live = page.getByTestId('compare-live')
    await live.waitFor({ timeout: 60_000 })
    expect(await live.count()).toBe(1)
    expect(await page.getByTestId('compare-following').textContent()).toMatch(/following 1 live/)
    // Its steps (and curves, drawn from the same fold) keep moving while the view is open.
    const liveRow = page.getByTestId('compare-summary').locator('tbody tr', { has: live })
    const steps = async (): Promise<number> => Number(/^\s*(\d+)/.exec((await liveRow.locator('td').nth(2).textContent()) ?? '')?.[1] ?? 0)
    const first = await steps()
    await expect.poll(steps, { timeout: 60_000 }).toBeGreaterThan(first + 2)
    await page.getByTestId('compare-loss-chart').waitFor()
    await shot('8-runs-compare-live')

    // Done: cancel the second run, and the comparison marks it live no more.
    await page.getByTestId('nav-train').click()
    await page.getByTestId('train-cancel').click()
    await page.getByTestId('confirm-accept').click()
    await expect.poll(() => page.getByTestId('train-status').textContent(), { timeout: 60_000 }).toMatch(/cancelled/i)
    await page.getByTestId('nav-runs').click()
    await expect.poll(() => live.count(), { timeout: 30_000 }).toBe(0)
    expect(await liveRow.count()).toBe(0)
  })

  it('opens the bundled demo in one click: the sentence encoder analysed, the layers SiVA trains chosen, the e-mails checked', async () => {
    // A fresh wizard: nothing open, so the Model step offers the demo.
    await page.goto(url)
    await startOver()
    await page.getByTestId('demo-start').click()
    const summary = page.getByTestId('model-summary')
    await summary.waitFor()
    await expect.poll(() => summary.textContent()).toMatch(/use-lite/)
    await page.getByTestId('nav-layers').click()
    const table = page.getByTestId('layers-table')
    await table.waitFor()
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 60_000 }).toBe(12)
    // Layer 1's six projections at perc 0.25: 3 × 128 + 128 + 128 + 128 = 768 singular values.
    await expect.poll(() => page.getByTestId('param-count-adapter').textContent(), { timeout: 60_000 }).toMatch(/^\s*768\s*$/)
    // Every row gets its spectrum: the graph's matrices are matched to the targets by name.
    await expect.poll(() => table.textContent(), { timeout: 60_000 }).not.toMatch(/analysing/i)
    expect(await table.textContent()).not.toMatch(/–\s*$/)
    await shot('9-demo-layers')
    await page.getByTestId('nav-data').click()
    expect(await page.getByTestId('data-path').inputValue()).toMatch(/resources\/demo\/train\.csv$/)
    expect(await page.getByTestId('data-validation').inputValue()).toMatch(/resources\/demo\/test\.csv$/)
    await page.getByTestId('data-check').click()
    await expect.poll(() => page.getByTestId('data-status').textContent(), { timeout: 60_000 }).toMatch(/600/)
    await shot('9-demo-data')
  })

  it('downloads a Hub id into the Hugging Face cache with progress; a cancelled download resumes; the model then opens', async () => {
    await page.goto(url)
    await startOver()
    await page.getByTestId('model-path').fill('acme/tiny-bert')
    const stalled = hub.stallAfter('model.safetensors', 2048)
    await page.getByTestId('model-download').click()
    await stalled
    const status = page.getByTestId('model-download-status')
    await expect.poll(() => page.getByTestId('model-download-line').textContent(), { timeout: 10_000 }).toMatch(/^Downloading acme\/tiny-bert · file \d of \d \(model\.safetensors\) · [\d.]+ kB of [\d.]+ kB/)
    expect(await page.getByTestId('model-download').isDisabled()).toBe(true)
    await shot('10-model-download')
    await page.getByTestId('model-download-cancel').click()
    await expect.poll(() => status.getAttribute('data-state')).toBe('cancelled')
    expect(await page.getByTestId('model-download-line').textContent()).toContain('Download again resumes it')
    expect(await page.getByTestId('model-summary').count()).toBe(0)

    await page.getByTestId('model-download').click()
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000 }).toBe('done')
    expect(await page.getByTestId('model-download-line').textContent()).toMatch(new RegExp(`Downloaded acme/tiny-bert \\(commit ${hubCommit.slice(0, 7)}\\) into the Hugging Face cache`))
    const summary = page.getByTestId('model-summary')
    await summary.waitFor()
    await expect.poll(() => page.getByTestId('model-hub-origin').textContent()).toContain(`Hugging Face acme/tiny-bert, commit ${hubCommit.slice(0, 12)}`)
    // The resumed request asked for the rest of the file only.
    const weights = hub.requests.filter((r) => r.url.startsWith('/cdn/') && r.range !== undefined && r.range !== 'bytes=0-0')
    expect(weights.at(-1)!.range).toMatch(/^bytes=[1-9]\d*-/)
    await expect.poll(() => page.getByTestId('model-cached').textContent()).toContain('acme/tiny-bert')
  })

  it('trains a Qwen2 on chat data, the taught text marked, and previews base against adapted generations', async () => {
    // hfref's qwen2-lm (the real Qwen2ForCausalLM.save_pretrained) with a ChatML template, and a JSONL of conversations.
    const chatModel = withChatTemplate('qwen2-lm', root, 'qwen2-chat', chatmlTemplate)
    const conversations = [
      [{ role: 'user', content: 'What is the capital of France?' }, { role: 'assistant', content: 'Paris.' }],
      [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: 'Bye' }, { role: 'assistant', content: 'Goodbye.' }],
      [{ role: 'user', content: 'Two plus two?' }, { role: 'assistant', content: 'Four.' }],
      [{ role: 'user', content: 'Name a fruit.' }, { role: 'assistant', content: 'An apple.' }]
    ]
    const chatData = join(root, 'chat.jsonl')
    writeFileSync(chatData, conversations.map((messages) => JSON.stringify({ messages })).join('\n') + '\n')
    // transformers' own rendering and assistant-only mask (tests/reference/hf_chat.py), as chat-data-check compares.
    const rendered = hfReference<{ ids: number[]; mask: number[] }[]>('hf_chat.py', [], { cases: conversations.map((messages) => ({ checkpoint: chatModel, messages })) })
    const kept = rendered.reduce((sum, r) => sum + r.ids.length, 0)
    const taught = rendered.map((r) => r.mask.reduce((a, b) => a + b, 0))

    await startOver()
    await page.getByTestId('model-path').fill(chatModel)
    await page.getByTestId('model-open').click()
    await expect.poll(() => page.getByTestId('model-summary').textContent(), { timeout: 30_000 }).toMatch(/qwen2/i)

    await page.getByTestId('nav-data').click()
    await page.getByTestId('data-path').fill(chatData)
    await page.getByTestId('data-task').selectOption('causal-lm')
    await page.getByTestId('data-column-messages').fill('messages')
    await page.getByTestId('data-check').click()
    await expect.poll(() => page.getByTestId('data-status').textContent(), { timeout: 60_000 }).toMatch(/4 rows .*ready to train/)
    const note = page.getByTestId('data-chat-note')
    expect(await note.textContent()).toContain(`${taught.reduce((a, b) => a + b, 0)} of ${kept} tokens get loss`)
    // The marked text is each assistant turn with its <|im_end|>, and only that.
    const chats = page.getByTestId('data-preview-chat')
    expect(await chats.count()).toBe(conversations.length)
    const marked = await Promise.all((await chats.all()).map((cell) => cell.locator('mark.taught').allTextContents()))
    expect(marked).toEqual(conversations.map((messages) => messages.filter((m) => m.role === 'assistant').map((m) => `${m.content}<|im_end|>`)))
    expect(await chats.first().textContent()).toContain('<|im_start|>user\nWhat is the capital of France?<|im_end|>')
    await shot('12-chat-data')

    await page.getByTestId('nav-layers').click()
    await expect.poll(() => page.getByTestId('layers-table').locator('tbody tr').count(), { timeout: 60_000 }).toBeGreaterThan(0)
    await expect.poll(() => page.getByTestId('param-count-adapter').textContent(), { timeout: 60_000 }).toMatch(/^\s*[1-9][\d,]*\s*$/)

    await page.getByTestId('nav-train').click()
    for (const [field, value] of [['epochs', '1'], ['maxSteps', '2'], ['batchSize', '2'], ['evalEvery', '0'], ['spectraEvery', '0'], ['lr', '0.05']] as const) await page.getByTestId(`train-${field}`).fill(value)
    await page.getByTestId('train-start').click()
    await expect.poll(() => page.getByTestId('train-status').getAttribute('data-status'), { timeout: 120_000 }).toBe('finished')

    // The base model's greedy continuation, against transformers' generate(do_sample=False) on the same checkpoint
    // (tests/reference/hf_generate.py), stopping where the preview stops: eos and the chat end-of-turn token.
    const prompt = 'What is the capital of France?'
    const maxNewTokens = 6
    const added = (JSON.parse(readFileSync(join(chatModel, 'tokenizer.json'), 'utf8')) as { added_tokens: { id: number; content: string }[] }).added_tokens
    const stops = added.filter((t) => t.content === '<|endoftext|>' || t.content === '<|im_end|>').map((t) => t.id)
    const [expected] = hfReference<{ results: { ids: number[]; text: string }[] }>('hf_generate.py', [], { jobs: [{ model: chatModel, prompt, max_new_tokens: maxNewTokens, eos_token_id: stops }] }).results
    const preview = page.getByTestId('generation-preview')
    await preview.waitFor({ timeout: 30_000 })
    await page.getByTestId('generation-prompt').fill(prompt)
    await page.getByTestId('generation-max-tokens').fill(String(maxNewTokens))
    await page.getByTestId('generation-generate').click()
    await expect.poll(() => page.getByTestId('generation-adapted-note').textContent().catch(() => ''), { timeout: 60_000 }).toMatch(/tokens? · (stopped at end of text|reached the token limit)/)
    expect(await page.getByTestId('generation-error').count()).toBe(0)
    expect(await page.getByTestId('generation-base-text').textContent()).toBe(prompt + expected!.text)
    expect(await page.getByTestId('generation-base-note').textContent()).toMatch(new RegExp(`^${expected!.ids.length} tokens? · ${expected!.ids.length < maxNewTokens ? 'stopped at end of text' : 'reached the token limit'}`))
    expect(await page.getByTestId('generation-adapted-text').textContent()).toMatch(new RegExp(`^${prompt.replace(/[?.]/g, '\\$&')}`))
    expect(await page.getByTestId('generation-adapted').textContent()).toMatch(/Adapted \(checkpoint step 2\)/)
    await shot('13-generation-train')

    await page.getByTestId('nav-export').click()
    await page.getByTestId('generation-preview').waitFor({ timeout: 30_000 })
    expect(await page.getByTestId('generation-unavailable').count()).toBe(0)
    await page.getByTestId('generation-prompt').fill(prompt)
    expect(await page.getByTestId('generation-generate').isEnabled()).toBe(true)
    await shot('14-generation-export')
  }, 240_000)
})

/**
 * A page script that drags something over a drop zone as a file manager would: `text` as text/plain (a
 * path), or `file` as a File built in the page (which, like any file a page is handed, has no path).
 * The drag events are dispatched on the zone; a string for the same reason as unnamedControlsScript.
 */
function dragScript(testid: string, carry: { text?: string; file?: string }, types: string[]): string {
  return `(() => {
    const zone = document.querySelector('[data-testid=' + ${JSON.stringify(JSON.stringify(testid))} + ']')
    const data = new DataTransfer()
    ${carry.text !== undefined ? `data.setData('text/plain', ${JSON.stringify(carry.text)})` : ''}
    ${carry.file !== undefined ? `data.items.add(new File(['{}'], ${JSON.stringify(carry.file)}, { type: 'application/json' }))` : ''}
    for (const type of ${JSON.stringify(types)}) zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }))
  })()`
}

/**
 * A page script listing the visible controls that have no accessible name: no aria-label, aria-labelledby,
 * title or non-empty <label>, and (for buttons) no text. Kept as a string: it runs in the page, where the
 * DOM is, and this project's Node type-check has no DOM types.
 */
function unnamedControlsScript(where: string): string {
  return `(() => {
    const named = (el) => {
      if (el.getAttribute('aria-label')?.trim() || el.getAttribute('aria-labelledby') || el.getAttribute('title')?.trim()) return true
      if (el.labels && [...el.labels].some((l) => l.textContent?.trim())) return true
      return el.tagName === 'BUTTON' && Boolean(el.textContent?.trim())
    }
    return [...document.querySelectorAll('main input, main select, main textarea, main button, nav button')]
      .filter((el) => el.offsetParent !== null && el.type !== 'hidden')
      .filter((el) => !named(el))
      .map((el) => ${JSON.stringify(where)} + ': <' + el.tagName.toLowerCase() + ' ' + (el.getAttribute('data-testid') ?? el.id ?? '') + '>')
  })()`
}
