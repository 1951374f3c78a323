import { relative } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * The files that take longest (seconds of one run here, 2026-12-03, both workers busy), longest first.
 * On a clean clone vitest has no durations cached and starts the largest files first; the demo test is
 * a short file that runs for two minutes, so it started last and ran alone for the final 70 s. Starting
 * these first lets the two workers finish together. A stale entry only changes the order, never a result.
 */
const slowest = [
  'tests/integration/demo.test.ts', // 122
  'tests/e2e/gpu-host-chromium.test.ts', // 97
  'tests/integration/train-webgpu.test.ts', // 96
  'tests/integration/train-cli.test.ts', // 67
  'tests/integration/hub-cache-cli.test.ts', // 48
  'tests/integration/export.test.ts', // 42
  'tests/integration/export-docs.test.ts', // 35
  'tests/e2e/wizard.test.ts', // 33
  'tests/integration/hf-exports.test.ts', // 32
  'tests/integration/training-worker.test.ts', // 32
  'tests/integration/gpu-bench-bundle.test.ts', // 31
  'tests/unit/backend/fastMatMul.test.ts', // 29
  'tests/integration/inspect-cli.test.ts', // 27
  'tests/unit/backend/webgpuFamilies.test.ts', // 26
  'tests/integration/parquet-train.test.ts', // 25
  'tests/integration/data-check-cli.test.ts', // 21
  'tests/unit/backend/webgpuLeaks.test.ts' // 20
]

export default class SlowestFirst extends BaseSequencer {
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
