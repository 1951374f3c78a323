import { isAbsolute, join, normalize, relative, sep } from 'node:path'

/**
 * The rules of the desktop app's GPU window, as plain functions (src/main/services/gpuWindow.ts wires
 * them to Electron): the page comes only from the bundled GPU host folder, over the app's own
 * `siva-gpu:` scheme, under a CSP that allows its own scripts and workers and nothing else.
 */

export const gpuHostScheme = 'siva-gpu'
export const gpuHostUrl = `${gpuHostScheme}://host/index.html`
export const gpuHostPortChannel = 'siva-gpu-host-port'

/** Scripts and workers from the page's own origin; no network, no frames, no plugins. */
export const gpuHostCsp = "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * Chromium's switches for WebGPU: on Linux it is behind `--enable-unsafe-webgpu` and Vulkan
 * (electron#41763); elsewhere (Metal, D3D12) it is on by default.
 */
export function gpuHostSwitches(platform: string): [string, string?][] {
  return platform === 'linux' ? [['enable-unsafe-webgpu'], ['enable-features', 'Vulkan']] : []
}

/** The bundled file a `siva-gpu://host/…` request names, or undefined for anything outside the bundle. */
export function gpuHostFile(bundleDir: string, url: string): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  if (parsed.protocol !== `${gpuHostScheme}:` || parsed.host !== 'host') return undefined
  const path = normalize(decodeURIComponent(parsed.pathname)).replace(/^[/\\]+/, '')
  if (!/^[A-Za-z0-9._-]+\.(html|js)$/.test(path)) return undefined
  const file = join(bundleDir, path)
  const rel = relative(bundleDir, file)
  return rel.startsWith('..') || isAbsolute(rel) || rel.includes(sep) ? undefined : file
}

export function gpuHostContentType(file: string): string {
  return file.endsWith('.html') ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8'
}
