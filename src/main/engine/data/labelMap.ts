import { readJsonObject, writeJsonAtomically } from '../io/jsonFile'

/**
 * Class names in id order: id i is `names[i]`. Integers sort as numbers (so "2" < "10" and labels 0/1
 * keep their ids), anything else in code-point order, so the same classes give the same ids on every
 * machine and in every run.
 */
export function labelNames(labels: Iterable<string>): string[] {
  const names = [...new Set(labels)]
  const integer = /^-?\d+$/
  if (names.every((name) => integer.test(name))) return names.sort((a, b) => Number(a) - Number(b))
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/** The label ↔ id map in the form `config.json` carries it (`id2label`, `label2id`), so export can copy it. */
export interface LabelMapFile {
  id2label: Record<string, string>
  label2id: Record<string, number>
}

/**
 * Built on null-prototype objects: a class may be called anything, and on a plain object `__proto__`
 * would set the prototype instead of a key (and vanish from the JSON).
 */
export function labelMapFile(names: readonly string[]): LabelMapFile {
  const id2label = Object.create(null) as Record<string, string>
  const label2id = Object.create(null) as Record<string, number>
  names.forEach((name, id) => {
    id2label[String(id)] = name
    label2id[name] = id
  })
  return { id2label, label2id }
}

/** Save the map with the run (written to a temp file and renamed: never half-written). */
export async function saveLabelMap(file: string, names: readonly string[]): Promise<void> {
  await writeJsonAtomically(file, labelMapFile(names))
}

/** Read a saved map back; a file that is not a dense id2label map is refused with its name. */
export async function loadLabelMap(file: string): Promise<string[]> {
  const json = await readJsonObject(file)
  const id2label = json['id2label']
  if (typeof id2label !== 'object' || id2label === null || Array.isArray(id2label)) throw new Error(`${file}: no "id2label" object`)
  const entries = Object.entries(id2label as Record<string, unknown>)
  const names: string[] = new Array<string>(entries.length)
  for (const [key, value] of entries) {
    const id = Number(key)
    if (!Number.isInteger(id) || id < 0 || id >= entries.length || typeof value !== 'string' || names[id] !== undefined) {
      throw new Error(`${file}: "id2label" must map the ids 0…${entries.length - 1} to class names; bad entry ${JSON.stringify(key)}: ${JSON.stringify(value)}`)
    }
    names[id] = value
  }
  return names
}
