/**
 * What a process's stderr says once the lines that are not ours are taken out: where Mesa's Vulkan drivers
 * are installed (lavapipe, radv, anv) but there is no GPU or no XDG_RUNTIME_DIR, Dawn's adapter probe (every
 * `auto` backend choice) makes them, and Dawn about them, print warnings of their own from native code.
 */
const driverLine = /^error: XDG_RUNTIME_DIR is invalid|^warning: .*(vulkan|vk[a-z_]|loader_|adapter|driver)|^ - While (initializing|validating)|^\s+at \S+ \(\S*(dawn|third_party)\S*\)$|^MESA/i

export function withoutDriverNoise(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line !== '' && !driverLine.test(line))
    .join('\n')
}
