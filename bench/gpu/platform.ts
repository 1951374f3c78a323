/** The folder of webgpu's package (and of the bundle) that holds dawn.node for a system: Dawn ships one universal macOS build. */
export function dawnFolder(platform: string, arch: string): string {
  return platform === 'darwin' ? 'darwin-universal' : `${platform}-${arch}`
}
