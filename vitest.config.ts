import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts', 'tests/e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Worker-pool and SVD suites are CPU bound; two cores are shared between test files.
    fileParallelism: true,
    maxWorkers: 2
  }
})
