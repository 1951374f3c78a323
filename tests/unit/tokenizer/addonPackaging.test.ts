import { readdirSync, type Stats } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Configuration, PlatformSpecificBuildOptions } from 'electron-builder'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../../helpers/paths'

// The native tokenizer's addon in the packaged app, decided by electron-builder's own file matchers on
// electron-builder.yml: only the target platform's binary of the 13 that `tokenizers` ships is copied, its
// loader (index.js) always is, and every .node is kept out of app.asar (Electron loads addons from real files).
// Nothing is packaged here; the matchers are the functions electron-builder runs while packaging.

const builderRequire = createRequire(createRequire(import.meta.url).resolve('electron-builder/package.json'))
type Filter = (file: string, stat: Stats) => boolean
type FileMatcher = { from: string; createFilter(): Filter }
const { getConfig } = builderRequire('app-builder-lib/out/util/config/config') as typeof import('app-builder-lib/out/util/config/config')
const { getFileMatchers, getNodeModuleFileMatcher } = builderRequire('app-builder-lib/out/fileMatcher') as {
  getFileMatchers(config: Configuration, name: 'asarUnpack', destination: string, options: object): FileMatcher[] | null
  getNodeModuleFileMatcher(appDir: string, destination: string, expand: (pattern: string) => string, platformOptions: PlatformSpecificBuildOptions, packager: object): FileMatcher
}
const fileStat = { isDirectory: () => false, isFile: () => true, isSymbolicLink: () => false } as Stats
const addonDir = join(repoRoot, 'node_modules', 'tokenizers')
const binaries = readdirSync(addonDir).filter((name) => name.endsWith('.node'))

/** electron-builder's ${arch} macro for one target (util/macroExpander: the target's arch). */
const macrosFor = (arch: string) => (pattern: string): string => pattern.replaceAll('${arch}', arch)
const sectionOf = { linux: 'linux', darwin: 'mac', win32: 'win' } as const

describe('the tokenizers addon in the packaged app (electron-builder.yml)', () => {
  it.each([
    ['linux', 'x64', ['tokenizers.linux-x64-gnu.node', 'tokenizers.linux-x64-musl.node']],
    ['darwin', 'x64', ['tokenizers.darwin-universal.node', 'tokenizers.darwin-x64.node']],
    ['darwin', 'arm64', ['tokenizers.darwin-arm64.node', 'tokenizers.darwin-universal.node']],
    ['win32', 'x64', ['tokenizers.win32-x64-msvc.node']]
  ])('%s %s: only its binaries are copied, with the loader', async (platform, arch, kept) => {
    // Without the platform's section every binary would be copied: the exclusions are what trims them.
    expect(binaries.length).toBe(13)
    const configuration = await getConfig(repoRoot, null, null)
    // The platform's section of the configuration, as PlatformPackager passes it.
    const section = (configuration[sectionOf[platform as keyof typeof sectionOf]] ?? {}) as PlatformSpecificBuildOptions
    const matcher = getNodeModuleFileMatcher(repoRoot, join(repoRoot, 'dist/app'), macrosFor(arch), section, { config: configuration, debugLogger: { isEnabled: false, add: () => undefined } })
    const filter = matcher.createFilter()
    expect(binaries.filter((name) => filter(join(addonDir, name), fileStat)).sort()).toEqual(kept)
    const untrimmed = getNodeModuleFileMatcher(repoRoot, join(repoRoot, 'dist/app'), macrosFor(arch), {}, { config: configuration, debugLogger: { isEnabled: false, add: () => undefined } }).createFilter()
    expect(binaries.filter((name) => untrimmed(join(addonDir, name), fileStat))).toHaveLength(13)
    for (const file of ['index.js', 'package.json']) expect(filter(join(addonDir, file), fileStat), file).toBe(true)
  })

  it('every one of its binaries is unpacked from app.asar', async () => {
    const configuration = await getConfig(repoRoot, null, null)
    const options = { macroExpander: (p: string) => p, customBuildOptions: {}, globalOutDir: join(repoRoot, 'dist'), defaultSrc: repoRoot }
    const [unpack] = getFileMatchers(configuration, 'asarUnpack', join(repoRoot, 'dist/app'), options) ?? []
    for (const name of binaries) expect(unpack!.createFilter()(join(unpack!.from, 'node_modules/tokenizers', name), fileStat), name).toBe(true)
  })
})
