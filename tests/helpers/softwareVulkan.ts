import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * No GPU here or in CI: Chromium's Debian package ships SwiftShader, a Vulkan driver that runs on the CPU,
 * and pointing the Vulkan loader at it gives Dawn (and Chromium) a real WebGPU adapter, `google
 * swiftshader`, with `isFallbackAdapter` set. These variables must be in the OS environment before Dawn
 * starts: in the parent of a spawned process, or in process.env before the first probe.
 */
export const swiftShaderIcd = '/usr/lib/chromium/vk_swiftshader_icd.json'

export function softwareVulkanEnv(): { VK_ICD_FILENAMES: string; XDG_RUNTIME_DIR: string } {
  if (!existsSync(swiftShaderIcd)) throw new Error(`SwiftShader's Vulkan driver is missing (${swiftShaderIcd}): install Debian's chromium package (.ci/run does)`)
  return { VK_ICD_FILENAMES: swiftShaderIcd, XDG_RUNTIME_DIR: process.env['XDG_RUNTIME_DIR'] ?? mkdtempSync(join(tmpdir(), 'siva-xdg-')) }
}

/** softwareVulkanEnv(), set on this process. */
export function useSoftwareVulkan(): void {
  Object.assign(process.env, softwareVulkanEnv())
}
