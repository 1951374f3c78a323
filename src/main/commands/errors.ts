/** Wrong flags or arguments: exit status 2, like most Unix tools. */
export class CliUsageError extends Error {
  override name = 'CliUsageError'
}
