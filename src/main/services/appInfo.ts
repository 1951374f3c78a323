import pkg from '../../../package.json' with { type: 'json' }
import type { AppInfo } from '../../shared/api'

/** Versions a user quotes in a bug report; works in Electron and in plain Node. */
export function appInfo(): AppInfo {
  const versions: Record<string, string> = {}
  for (const [name, version] of Object.entries(process.versions)) {
    if (version && ['node', 'v8', 'electron', 'chrome'].includes(name)) versions[name] = version
  }
  return { name: pkg.productName, version: pkg.version, versions, platform: `${process.platform}-${process.arch}` }
}
