import type { TargetRow } from '@shared/api'
import { maxNamePatternLength, namePattern, PatternError, type NamePattern } from '@shared/pattern/safePattern'

export type TargetRole = TargetRow['role']
export type SelectionPreset = 'default' | 'attention' | 'mlp' | 'all'

/** The module roles each preset adapts, in PEFT's words. */
export const presetRoles: Record<Exclude<SelectionPreset, 'default'>, readonly TargetRole[]> = {
  attention: ['query', 'key', 'value', 'attention.output'],
  mlp: ['mlp.in', 'mlp.out'],
  all: ['query', 'key', 'value', 'attention.output', 'mlp.in', 'mlp.out']
}

export const presetLabels: Record<SelectionPreset, string> = {
  default: 'q,v',
  attention: 'attention',
  mlp: 'MLP',
  all: 'all linear'
}

/** PEFT's q,v when a family gives no default of its own. */
const fallbackDefaultRoles: readonly TargetRole[] = ['query', 'value']

/** Maximum length of a target regex the back end accepts. */
export const maxPatternLength = maxNamePatternLength

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** A pattern as typed, compiled as the back end matches it (bounded time); an empty pattern matches nothing. */
export function compilePattern(source: string): { regex?: NamePattern; error?: string } {
  if (source.trim() === '') return {}
  try {
    return { regex: namePattern(source, 'pattern') }
  } catch (error) {
    return { error: error instanceof PatternError ? error.detail : String(error) }
  }
}

/** A target's name after its block number: `attention.self.query`, `attn.c_attn.q`. */
export function moduleSuffix(target: Pick<TargetRow, 'name' | 'block'>): string {
  const marker = `.${target.block}.`
  const at = target.name.lastIndexOf(marker)
  return at >= 0 ? target.name.slice(at + marker.length) : target.name
}

/**
 * A pattern like PEFT's target_modules: `\.\d+\.(?:attention\.self\.query|attention\.self\.value)$`.
 * The block number anchors each suffix: without it BERT's MLP `output.dense` would also match
 * `attention.output.dense`.
 */
export function suffixPattern(suffixes: Iterable<string>): string {
  const unique = [...new Set(suffixes)]
  if (unique.length === 0) return ''
  return `\\.\\d+\\.(?:${unique.map(escapeRegex).join('|')})$`
}

/** The pattern a preset stands for on these targets. */
export function presetPattern(preset: SelectionPreset, targets: readonly TargetRow[], defaultTargets?: string): string {
  if (preset === 'default' && defaultTargets) return defaultTargets
  const roles = preset === 'default' ? fallbackDefaultRoles : presetRoles[preset]
  return suffixPattern(targets.filter((t) => roles.includes(t.role)).map(moduleSuffix))
}

export interface BlockRange {
  from: number
  to: number
}

/** Names of the targets a pattern selects within a block range (inclusive). */
export function matchingTargets(targets: readonly TargetRow[], pattern: NamePattern | undefined, range?: BlockRange): Set<string> {
  const names = new Set<string>()
  if (!pattern) return names
  for (const t of targets) {
    if (range && (t.block < range.from || t.block > range.to)) continue
    if (pattern.test(t.name)) names.add(t.name)
  }
  return names
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false
  for (const x of a) if (!b.has(x)) return false
  return true
}

/**
 * The selection written compactly, block numbers grouped per module:
 * `\.(?:(?:0|1)\.attention\.self\.query|(?:3)\.output\.dense)$`. The block number sits right before the
 * suffix in every family, so one block's module never matches another's.
 */
export function blockGroupPattern(targets: readonly TargetRow[], selected: ReadonlySet<string>): string {
  const blocksBySuffix = new Map<string, number[]>()
  for (const t of targets) {
    if (!selected.has(t.name)) continue
    const suffix = moduleSuffix(t)
    const blocks = blocksBySuffix.get(suffix) ?? []
    blocks.push(t.block)
    blocksBySuffix.set(suffix, blocks)
  }
  // Suffixes that share the same blocks share one group.
  const suffixesByBlocks = new Map<string, string[]>()
  for (const [suffix, blocks] of blocksBySuffix) {
    const key = [...new Set(blocks)].sort((a, b) => a - b).join('|')
    suffixesByBlocks.set(key, [...(suffixesByBlocks.get(key) ?? []), suffix])
  }
  const groups = [...suffixesByBlocks].map(([blocks, suffixes]) => `(?:${blocks})\\.(?:${suffixes.map(escapeRegex).join('|')})`)
  return groups.length === 0 ? '' : `\\.(?:${groups.join('|')})$`
}

export interface TargetsSetting {
  /** The regex sent as the run's `targets`. */
  targets: string
  /** Targets the regex matches but the selection left out. */
  skip: string[]
}

/**
 * What to send for a selection. The user's own pattern when it says exactly what is selected; else the
 * block-grouped pattern; else (a very irregular selection) the modules' suffixes with the rows left out
 * skipped one by one, so any selection fits the back end's pattern limit.
 */
export function targetsSetting(targets: readonly TargetRow[], selected: ReadonlySet<string>, userPattern?: string): TargetsSetting | undefined {
  if (selected.size === 0) return undefined
  if (userPattern && userPattern.length <= maxPatternLength) {
    const { regex } = compilePattern(userPattern)
    if (regex && sameSet(matchingTargets(targets, regex), selected)) return { targets: userPattern, skip: [] }
  }
  const grouped = blockGroupPattern(targets, selected)
  if (grouped.length <= maxPatternLength) return { targets: grouped, skip: [] }
  const broad = suffixPattern(targets.filter((t) => selected.has(t.name)).map(moduleSuffix))
  const regex = namePattern(broad, 'targets')
  return { targets: broad, skip: targets.filter((t) => regex.test(t.name) && !selected.has(t.name)).map((t) => t.name) }
}

/** An override pattern that matches exactly one target. */
export function exactPattern(name: string): string {
  return `^${escapeRegex(name)}$`
}

/** Block numbers written as runs: [0, 1, 2, 3, 5, 7, 8] → "0–3, 5, 7–8". */
export function blockRuns(blocks: Iterable<number>): string {
  const sorted = [...new Set(blocks)].sort((a, b) => a - b)
  const runs: string[] = []
  for (let i = 0; i < sorted.length; ) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++
    runs.push(i === j ? String(sorted[i]) : `${sorted[i]}–${sorted[j]}`)
    i = j + 1
  }
  return runs.join(', ')
}

/**
 * Which blocks a selection really covers, for the line beside the block range: "in block 1",
 * "in blocks 0–3", "in blocks 0, 2"; empty when nothing is selected. A range of 0–1 whose pattern
 * matches only block 1 says "in block 1".
 */
export function selectedBlocksText(targets: readonly Pick<TargetRow, 'name' | 'block'>[], selected: ReadonlySet<string>): string {
  const blocks = new Set(targets.filter((t) => selected.has(t.name)).map((t) => t.block))
  if (blocks.size === 0) return ''
  return `in ${blocks.size === 1 ? 'block' : 'blocks'} ${blockRuns(blocks)}`
}
