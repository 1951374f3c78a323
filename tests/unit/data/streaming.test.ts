import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readRecords, type DataProblem } from '../../../src/main/engine/data'

/**
 * A smoke check that reading streams: RSS may not grow with the file. It is noisy by nature (GC timing,
 * the test runner), hence the generous bound; the 200 MB benchmark in bench/ is the real measure.
 */
let dir: string
let file: string
const rows = 400_000
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'siva-data-stream-'))
  file = join(dir, 'big.jsonl')
  const out = createWriteStream(file)
  const padding = 'x'.repeat(90)
  for (let i = 0; i < rows; i++) {
    if (!out.write(`{"text": "row ${i} ${padding}", "label": "${i % 3}"}\n`)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('streaming', () => {
  it('counts the rows of a ~50 MB JSONL file with flat memory and reports progress', async () => {
    const problems: DataProblem[] = []
    let progress: [number, number] = [0, 0]
    const before = process.memoryUsage().rss
    let peak = before
    let count = 0
    for await (const _record of readRecords(file, { onProblem: (p) => problems.push(p), onProgress: (read, total) => (progress = [read, total]) })) {
      if (++count % 10_000 === 0) peak = Math.max(peak, process.memoryUsage().rss)
    }
    expect(count).toBe(rows)
    expect(problems).toEqual([])
    expect(progress[0]).toBe(progress[1])
    expect(progress[1]).toBeGreaterThan(45e6)
    expect(peak - before).toBeLessThan(60 * 2 ** 20)
  })
})
