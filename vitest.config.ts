import { fileURLToPath } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { relative } from 'node:path'
import { defineConfig } from 'vitest/config'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * The files that take longest (seconds in a clean-clone `.ci/run` here, 2026-12-03, both workers busy; ~ after
 * this session's changes, measured alone),
 * longest first. On a clean clone vitest has no durations cached and starts the largest files first; the
 * demo test is a short file that runs for two minutes, so it started last and ran alone for the final 70 s.
 * Starting these first lets the two workers finish together. A stale entry only changes the order, never a
 * result.
 */
const slowest = [
  'tests/integration/demo.test.ts', // 145
  'tests/e2e/gpu-host-chromium.test.ts', // 133
  'tests/integration/train-webgpu.test.ts', // ~100
  'tests/e2e/wizard.test.ts', // ~80 (with the chat step)
  'tests/integration/train-cli.test.ts', // ~75
  'tests/integration/hf-exports.test.ts', // 78
  'tests/integration/export-docs.test.ts', // 59
  'tests/unit/backend/webgpuFamilies.test.ts', // 53
  'tests/integration/generate-cli.test.ts', // ~50
  'tests/integration/export.test.ts', // 51
  'tests/integration/data-check-cli.test.ts', // ~30
  'tests/integration/hub-cache-cli.test.ts', // ~31
  'tests/integration/gpu-bench-bundle.test.ts', // 30
  'tests/unit/backend/fastMatMul.test.ts', // 29
  'tests/unit/generate/greedy.test.ts', // 29
  'tests/unit/backend/webgpuLeaks.test.ts', // 29
  'tests/integration/parquet-train.test.ts', // 28
  'tests/unit/io/torchCheckpoint.test.ts', // 26
  'tests/unit/tokenizer/untrusted.test.ts', // 25
  'tests/unit/data/encodePool.test.ts', // 24
  'tests/integration/run-lifecycle.test.ts', // 23
  'tests/unit/data/chatTemplate.test.ts', // 23
  'tests/integration/inspect-cli.test.ts', // ~22
  'tests/unit/generate/previewStream.test.ts' // 22
]

class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const ordered = await super.sort(files)
    const rank = (spec: TestSpecification): number => {
      const at = slowest.indexOf(relative(spec.project.config.root, spec.moduleId).split('\\').join('/'))
      return at === -1 ? slowest.length : at
    }
    // Array.prototype.sort is stable: the rest keep vitest's own order (cached durations, else size).
    return ordered.sort((a, b) => rank(a) - rank(b))
  }
}

export default defineConfig({
  // The renderer's components and stores (tests/unit/renderer) import .vue files and the renderer's aliases;
  // neither changes how other files load.
  plugins: [vue()],
  resolve: {
    alias: {
      '@renderer': fileURLToPath(new URL('src/renderer/src', import.meta.url)),
      '@shared': fileURLToPath(new URL('src/shared', import.meta.url))
    }
  },
  test: {
    // Scratch folders live in tests/.tmp/run-<pid>, removed when the run ends (and, if it was killed, by the next).
    globalSetup: ['tests/globalSetup.ts'],
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts', 'tests/e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Worker-pool and SVD suites are CPU bound; two cores are shared between test files.
    fileParallelism: true,
    maxWorkers: 2,
    // The slowest files first, so that neither worker is left running one alone at the end.
    sequence: { sequencer: SlowestFirst }
  }
})
