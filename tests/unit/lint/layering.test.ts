import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'

// The layer rules of DESIGN.md §4, checked by planting imports where they are forbidden (and allowed)
// and running the project's real ESLint configuration over them.
const cwd = fileURLToPath(new URL('../../..', import.meta.url))
const eslint = new ESLint({ cwd })

async function restrictedImports(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath })
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax').map((m) => m.message)
}

async function ruleMessages(code: string, filePath: string, rule: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath })
  return result!.messages.filter((m) => m.ruleId === rule).map((m) => m.message)
}

describe('lint forbids synchronous tensor reads outside tests', () => {
  const planted = "import * as tf from '@tensorflow/tfjs'\nconst t = tf.scalar(1)\nexport const x = [t.dataSync(), t.arraySync(), t.bufferSync()]\n"

  it.each(['src/main/engine/training/planted.ts', 'src/main/engine/peft/methods/siva/planted.ts', 'src/main/workers/planted.ts', 'src/shared/planted.ts'])('fails on dataSync, arraySync and bufferSync in %s, saying why', async (filePath) => {
    const messages = await ruleMessages(planted, filePath, 'no-restricted-properties')
    expect(messages).toHaveLength(3)
    for (const message of messages) expect(message).toContain('WebGPU in Node has no synchronous read path')
  })

  it('accepts asynchronous reads in src/main, and synchronous ones in tests', async () => {
    expect(await ruleMessages("import * as tf from '@tensorflow/tfjs'\nexport const x = await tf.scalar(1).data()\n", 'src/main/engine/training/planted.ts', 'no-restricted-properties')).toEqual([])
    expect(await ruleMessages(planted, 'tests/unit/training/planted.test.ts', 'no-restricted-properties')).toEqual([])
  })
})

describe('lint enforces the layer rules', () => {
  it('fails on a planted import of electron in src/main/engine', async () => {
    const messages = await restrictedImports("import { app } from 'electron'\nexport const x = app\n", 'src/main/engine/io/planted.ts')
    expect(messages).toHaveLength(1)
    expect(messages[0]).toContain('The engine is host-neutral: it never imports electron.')
  })

  it.each([
    ['src/main/engine/linalg/planted.ts', "import { Worker } from 'node:worker_threads'\nexport const x = Worker\n"],
    ['src/main/engine/spectra/planted.ts', "import { AnalysisPool } from '../../workers/analysisPool'\nexport const x = AnalysisPool\n"],
    ['src/renderer/src/planted.ts', "import { readFileSync } from 'node:fs'\nexport const x = readFileSync\n"],
    ['src/renderer/src/planted.ts', "import * as tf from '@tensorflow/tfjs'\nexport const x = tf\n"],
    ['src/renderer/src/planted.ts', "import { main } from '../../main/cli'\nexport const x = main\n"],
    ['src/renderer/src/views/planted.ts', 'export const x = window.api\n'],
    ['src/shared/planted.ts', "import { join } from 'node:path'\nexport const x = join\n"],
    ['src/shared/planted.ts', "import { ref } from 'vue'\nexport const x = ref\n"],
    ['src/main/engine/peft/methods/siva/planted.ts', "import { lora } from '../lora/layer'\nexport const x = lora\n"]
  ])('fails on a planted forbidden import in %s', async (filePath, code) => {
    expect((await restrictedImports(code, filePath)).length).toBeGreaterThan(0)
  })

  it.each([
    ['src/main/engine/io/planted.ts', "import { open } from 'node:fs/promises'\nimport type { InspectReport } from '../../../shared/spectra'\nexport const x = open\nexport type Y = InspectReport\n"],
    ['src/main/workers/planted.ts', "import { Worker } from 'node:worker_threads'\nimport { svd } from '../engine/linalg'\nexport const x = [Worker, svd]\n"],
    ['src/renderer/src/api/planted.ts', 'export const x = window.api\n'],
    ['src/shared/planted.ts', "import { z } from 'zod'\nimport type { AppInfo } from './api'\nexport const x = z\nexport type Y = AppInfo\n"],
    ['src/main/engine/peft/methods/siva/planted.ts', "import { y } from './layer'\nimport { z } from '../../shared'\nexport const x = [y, z]\n"]
  ])('accepts an allowed import in %s', async (filePath, code) => {
    expect(await restrictedImports(code, filePath)).toEqual([])
  })
})
