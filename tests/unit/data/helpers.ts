import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { readRecords, type DataProblem, type DataRecord, type ReadOptions } from '../../../src/main/engine/data'
import { repoRoot } from '../../helpers/paths'

export const dataFixtures = join(repoRoot, 'tests/fixtures/data')
export const fixture = (name: string): string => join(dataFixtures, name)

/** Read a whole file, keeping records and problems in the order they came. */
export async function readAll(file: string, options: Partial<ReadOptions> = {}): Promise<{ records: DataRecord[]; problems: DataProblem[]; columns?: string[] }> {
  const problems: DataProblem[] = []
  const records: DataRecord[] = []
  let columns: string[] | undefined
  for await (const record of readRecords(file, { ...options, onProblem: (p) => problems.push(p), onColumns: (c) => (columns = c) })) {
    records.push(record)
  }
  return { records, problems, ...(columns && { columns }) }
}

/** Rows as Python's csv module reads them (tests/reference/data_csv_reference.py). */
export function pythonCsvRows(file: string, delimiter = ','): string[][] {
  const script = join(repoRoot, 'tests/reference/data_csv_reference.py')
  const result = spawnSync('python3', [script, file, delimiter], { encoding: 'utf8' })
  if (result.error) throw result.error
  if (result.status !== 0) throw new Error(`data_csv_reference.py failed (${result.status}):\n${result.stderr}`)
  return JSON.parse(result.stdout) as string[][]
}
