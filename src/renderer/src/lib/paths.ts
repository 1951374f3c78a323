/**
 * Joining paths the back end will read, without node:path: the separator of the folder given (a
 * Windows runs folder uses backslashes), no doubled separators.
 */
export function joinPath(folder: string, ...parts: string[]): string {
  const separator = folder.includes('\\') && !folder.includes('/') ? '\\' : '/'
  let joined = folder.replace(/[\\/]+$/, '')
  for (const part of parts) joined += separator + part.replace(/^[\\/]+|[\\/]+$/g, '')
  return joined
}
