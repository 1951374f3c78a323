import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { labelMapFile, loadLabelMap, prepareImageData, readRecords, saveLabelMap, validateTextDataset, type DataProblem } from '../../src/main/engine/data'
import { exportRun } from '../../src/main/engine/export'
import { readModelConfig } from '../../src/main/engine/io/hfConfig'
import { defaultTrainConfig, trainRun } from '../../src/main/engine/training/loop'
import { inProcessDecompose as decompose } from '../helpers/decompose'
import { tempDir } from '../helpers/paths'
import { tinyBertWithTokenizer } from '../helpers/tinyModels'
import { writeBlankPng } from '../unit/data/images/blankPng'

/**
 * Class names and column names are the user's strings; as keys of a plain object `__proto__` sets the
 * prototype instead of a key (and vanishes from JSON), while `constructor` and `toString` are found on
 * every object before anyone wrote them. Each must stay an ordinary name from the data file to config.json.
 */
const awkward = ['__proto__', 'constructor', 'toString']

/** `rows` rows of text whose class is told by one word in it, cycling through the awkward names. */
function awkwardCsv(file: string, rows: number): string {
  const words = ['good', 'bad', 'meh']
  const lines = ['text,label']
  for (let i = 0; i < rows; i++) lines.push(`the film was ${words[i % 3]} ${i % 5 === 0 ? 'indeed' : ''},${awkward[i % 3]}`)
  writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}

const ownKeys = (value: unknown): string[] => Object.keys(value as object).sort()

describe('labels named __proto__, constructor and toString', () => {
  it('the label map keeps all three, in the file and read back', async () => {
    const map = labelMapFile(awkward)
    expect(ownKeys(map.label2id)).toEqual([...awkward].sort())
    expect(JSON.parse(JSON.stringify(map))).toEqual(JSON.parse('{"id2label":{"0":"__proto__","1":"constructor","2":"toString"},"label2id":{"__proto__":0,"constructor":1,"toString":2}}'))
    const file = join(tempDir('label-keys-map'), 'labels.json')
    await saveLabelMap(file, awkward)
    expect(await loadLabelMap(file)).toEqual(awkward)
  })

  it('validate counts each as its own class', async () => {
    const file = awkwardCsv(join(tempDir('label-keys-validate'), 'data.csv'), 30)
    const report = await validateTextDataset(file)
    expect(report.usable).toBe(true)
    expect(report.summary.classes).toEqual([
      { label: '__proto__', count: 10, firstRow: 2 },
      { label: 'constructor', count: 10, firstRow: 3 },
      { label: 'toString', count: 10, firstRow: 4 }
    ])
  })

  it('a column named after an Object method is not found in a JSON line that lacks it', async () => {
    const file = join(tempDir('label-keys-jsonl'), 'data.jsonl')
    writeFileSync(file, ['{"text": "a", "toString": "x", "__proto__": "p"}', '{"text": "b"}', '{"text": "c", "toString": "y", "__proto__": "q"}'].join('\n'))
    const problems: DataProblem[] = []
    const fields: unknown[] = []
    for await (const record of readRecords(file, { onProblem: (p) => problems.push(p) })) fields.push([record.fields['toString'], record.fields['__proto__'], record.fields['constructor']])
    expect(fields).toEqual([['x', 'p', undefined], [undefined, undefined, undefined], ['y', 'q', undefined]])
    const report = await validateTextDataset(file, { columns: { text: 'text', label: 'toString' } })
    expect(report.problems.filter((p) => p.severity === 'error').map((p) => [p.row, p.code, p.field])).toEqual([[2, 'label-missing', 'toString']])
  })

  it('as class folders of images, each is its own class with its own id', async () => {
    const root = tempDir('label-keys-images')
    for (const label of awkward) {
      mkdirSync(join(root, 'images', label), { recursive: true })
      for (const [i, side] of [20, 21, 22].entries()) writeBlankPng(join(root, 'images', label, `${i}.png`), side + awkward.indexOf(label) * 3, 20)
    }
    const prepared = await prepareImageData(join(root, 'images'), join(root, 'data'))
    expect(prepared.labels).toEqual(awkward)
    expect([...prepared.labelIds]).toEqual([['__proto__', 0], ['constructor', 1], ['toString', 2]])
    expect(await loadLabelMap(join(root, 'data', 'labels.json'))).toEqual(awkward)
  })

  it('trains, and the exported config.json carries all three in label2id and id2label', async () => {
    const root = tempDir('label-keys-train')
    const model = tinyBertWithTokenizer(join(root, 'tiny-bert'))
    const data = awkwardCsv(join(root, 'data.csv'), 48)
    const runDir = join(root, 'run')
    const config = defaultTrainConfig({ model, data, task: 'classify', method: 'siva', maxSteps: 2, batchSize: 8, seed: 1, evalEvery: 2, checkpointEvery: 2, backend: 'wasm' })
    for await (const event of trainRun(config, runDir, { decompose })) if (event.type === 'error') throw new Error(event.message)
    expect(await loadLabelMap(join(runDir, 'data', 'labels.json'))).toEqual(awkward)

    const merged = join(root, 'merged')
    await exportRun({ runDir, checkpoint: 'last', outputs: { merged } }, { decompose })
    const exported = JSON.parse(readFileSync(join(merged, 'config.json'), 'utf8')) as Record<string, unknown>
    expect(exported['num_labels']).toBe(3)
    expect(exported['id2label']).toEqual({ 0: '__proto__', 1: 'constructor', 2: 'toString' })
    expect(ownKeys(exported['label2id'])).toEqual([...awkward].sort())
    expect(Object.entries(exported['label2id'] as object).sort()).toEqual([['__proto__', 0], ['constructor', 1], ['toString', 2]])

    // Read back as a checkpoint (what the next run or inspect sees).
    const described = await readModelConfig(merged)
    expect(described?.numLabels).toBe(3)
    expect(Object.entries(described!.label2id!).sort()).toEqual([['__proto__', 0], ['constructor', 1], ['toString', 2]])
  })
})
