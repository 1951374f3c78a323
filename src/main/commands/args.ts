import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { CliUsageError } from './errors'

/** node:util parseArgs for a `siva` command: a bad flag becomes a usage error that points at its help. */
export function parseCommandArgs<T extends ParseArgsConfig>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config)
  } catch (error) {
    throw new CliUsageError(`${error instanceof Error ? error.message : String(error)}; see 'siva ${command} --help'`)
  }
}

/** The flags every command takes: progress off (--quiet) and its help (-h). */
export const commonFlags = {
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
} as const

/** --json: the result as JSON on stdout instead of a table. */
export const jsonFlag = { json: { type: 'boolean', default: false } } as const

/** Print a command's help when asked; true means the command is done. */
export function printedHelp(values: { help?: boolean | undefined }, help: string): boolean {
  if (values.help) process.stdout.write(`${help}\n`)
  return values.help === true
}

/** "1 matrix", "3 matrices": counts as a person writes them. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`
}

/** Where SVDs are cached between runs: --svd-cache, else $SIVA_SVD_CACHE, else ~/.cache/siva-studio/svd. */
export function svdCacheFolder(option: unknown): string {
  if (typeof option === 'string') return resolve(option)
  return process.env['SIVA_SVD_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'siva-studio', 'svd')
}
