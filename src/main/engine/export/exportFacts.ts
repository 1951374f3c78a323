import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exportAvailability, type ExportFacts, type ExportOptionsSummary, type ExportWording, type OutputAvailability } from '../../../shared/exportOptions'
import type { ExportKind } from '../../../shared/api'
import { loadLabelMap } from '../data'
import { openCheckpoint } from '../io'
import { familyFor } from '../models/registry'
import { modelTask } from '../training/trainData'
import { EventLog, listCheckpoints, readRunInfo } from '../training/runFolder'

/**
 * The facts that decide which outputs a run exports to (shared/exportOptions.ts), read from its run.json
 * and its base model's header (no weights, no training state): cheap enough to ask before every export.
 */
export async function runExportFacts(runDir: string): Promise<ExportFacts> {
  const { config } = await readRunInfo(runDir)
  if (!existsSync(config.model)) throw new Error(`${config.model}: the run's model folder is gone; export needs the checkpoint it was trained from`)
  const source = await openCheckpoint(config.model)
  try {
    const family = familyFor(source.config, config.model)
    const transformersClass = family.transformers.architectures[modelTask(config.task)]
    return {
      method: config.method,
      task: config.task,
      model: {
        format: source.format,
        ...(source.config?.modelType !== undefined && { modelType: source.config.modelType }),
        transformers: Object.keys(family.transformers.architectures).length > 0,
        ...(transformersClass !== undefined && { transformersClass })
      }
    }
  } finally {
    await source.close()
  }
}

/**
 * A run's export options in `wording`. A run whose base model cannot be read offers only its report, with
 * the reason for the others.
 */
export async function runExportOptions(runDir: string, runId: string, wording: ExportWording): Promise<ExportOptionsSummary> {
  const { config } = await readRunInfo(runDir)
  let facts: ExportFacts | undefined
  let outputs: Record<ExportKind, OutputAvailability>
  try {
    facts = await runExportFacts(runDir)
    outputs = exportAvailability(facts, wording)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    outputs = { merged: { available: false, reason }, adapter: { available: false, reason }, 'peft-lora': { available: false, reason }, report: { available: true } }
  }
  const checkpoints = await listCheckpoints(runDir)
  const pointer = async (which: 'best' | 'latest'): Promise<{ name: string; step: number } | undefined> => {
    try {
      const { name } = JSON.parse(await readFile(join(runDir, 'checkpoints', `${which}.json`), 'utf8')) as { name: string }
      return checkpoints.find((c) => c.name === name)
    } catch {
      return undefined
    }
  }
  const [best, last, labels] = await Promise.all([pointer('best'), pointer('latest'), runLabels(runDir)])
  return {
    runId,
    ...(facts && { facts }),
    outputs,
    checkpoints,
    ...(best && { best }),
    ...((last ?? checkpoints.at(-1)) && { last: last ?? checkpoints.at(-1)! }),
    baseModel: config.model,
    ...(labels && { labels })
  }
}

/** The class names the run trained with: its data/labels.json, else its 'prepared' event; none when neither can be read. */
async function runLabels(runDir: string): Promise<string[] | undefined> {
  try {
    const file = join(runDir, 'data', 'labels.json')
    if (existsSync(file)) return await loadLabelMap(file)
    const prepared = (await EventLog.read(runDir)).find((e) => e.type === 'prepared')
    return prepared?.type === 'prepared' ? prepared.data.labels : undefined
  } catch {
    return undefined
  }
}
