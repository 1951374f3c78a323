import { fileURLToPath } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vitest/config'
import SlowestFirst from './tests/sequencer'

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
