// Builds the GPU bench bundle: bench/gpu/entry.ts and the engine in one ES module, the matmul helper thread's
// entry beside it, tfjs's wasm files, and Dawn's dawn.node for one system, in a folder that runs with plain
// `node` on a machine without npm, node_modules or registry access (docs/gpu.md: copying and running it).
// Usage: node scripts/build-gpu-bench.mjs [--platform linux-x64|linux-arm64|darwin-universal|win32-x64|win32-arm64] [--out dir]
import { build } from 'esbuild'
import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const limit = 64 * 2 ** 20
const dawnDist = join(root, 'node_modules/webgpu/dist')
const wasmDist = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist')

// The bundle is one ES module; tfjs's wasm backend is CommonJS (Emscripten's loader finds its .wasm beside
// __dirname) and webgpu's index.js loads dawn.node with createRequire: give both what they expect.
const banner = [
  "import { createRequire as __sivaCreateRequire } from 'node:module'",
  "import { fileURLToPath as __sivaFileURLToPath } from 'node:url'",
  "import { dirname as __sivaDirname } from 'node:path'",
  'const require = __sivaCreateRequire(import.meta.url)',
  'const __filename = __sivaFileURLToPath(import.meta.url)',
  'const __dirname = __sivaDirname(__filename)'
].join(';\n')

/** Build into `outDir` (emptied first); returns the folder, its files and their total size in bytes. */
export async function buildGpuBench({ platform = 'linux-x64', outDir = join(root, 'dist/gpu-bench') } = {}) {
  const platforms = await readdir(dawnDist)
  if (!platforms.includes(platform)) throw new Error(`--platform ${platform}: node_modules/webgpu/dist has no such folder (it has ${platforms.join(', ')})`)
  await rm(outDir, { recursive: true, force: true })
  await mkdir(outDir, { recursive: true })
  await build({
    absWorkingDir: root,
    entryPoints: { 'siva-gpu-bench': join(root, 'bench/gpu/entry.ts'), gemmWorker: join(root, 'src/main/workers/gemmWorker.ts') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
    banner: { js: banner },
    // Backends the bench never starts (it asks for webgpu and wasm by name), loaded only by a dynamic import.
    external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
    define: { 'process.env.NODE_ENV': '"production"' }
  })
  // workerEntry() looks for gemmWorker.js beside the bundle: .js files here are ES modules.
  await writeFile(join(outDir, 'package.json'), `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`)
  await writeFile(join(outDir, 'README.txt'), readme(platform))
  for (const name of (await readdir(wasmDist)).filter((file) => file.endsWith('.wasm'))) await cp(join(wasmDist, name), join(outDir, name))
  // webgpu's index.js, bundled, looks for dist/<platform>-<arch>/dawn.node beside itself (Windows: with its DLLs).
  await cp(join(dawnDist, platform), join(outDir, 'dist', platform), { recursive: true })
  const files = await listFiles(outDir)
  const bytes = files.reduce((sum, file) => sum + file.bytes, 0)
  if (files.some((file) => file.path.split(/[\\/]/).includes('node_modules'))) throw new Error(`${outDir} holds a node_modules folder: the bundle must be self-contained`)
  if (bytes > limit) throw new Error(`the GPU bench bundle is ${mib(bytes)} MiB, over the 64 MiB limit: ${files.map((f) => `${f.path} ${mib(f.bytes)}`).join(', ')}`)
  return { outDir, files, bytes }
}

/** For whoever receives only the folder. */
function readme(platform) {
  return [
    `SiVA Studio GPU bench (built for ${platform}): bench:train's SiVA step on webgpu, then on wasm, on this machine.`,
    'Needs Node.js 20 or newer and no npm install. On Linux, also the Vulkan loader (libvulkan1) and the GPU vendor\'s Vulkan driver.',
    '',
    '  node siva-gpu-bench.js [--steps 3] [--layers 4] [--batch 8] [--length 64] [--perc 0.1] [--keep] [--software]',
    '',
    'It writes a BERT-base-wide checkpoint with random weights to a temporary folder, measures, prints the date, Node',
    'version, adapter, seconds per step for each backend and their ratio, and removes the checkpoint (--keep leaves it).',
    'Without --software it refuses a software WebGPU adapter (SwiftShader, llvmpipe): that would measure the CPU.',
    'See docs/gpu.md in the SiVA Studio repository.',
    ''
  ].join('\n')
}

async function listFiles(dir, base = dir) {
  const out = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await listFiles(path, base)))
    else out.push({ path: relative(base, path), bytes: (await stat(path)).size })
  }
  return out
}

const mib = (bytes) => (bytes / 2 ** 20).toFixed(1)
/** The path to show: relative when it lies under the current folder, else absolute. */
const runPath = (path) => (relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path))

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { platform: { type: 'string', default: 'linux-x64' }, out: { type: 'string' } } })
  try {
    const { outDir, files, bytes } = await buildGpuBench({ platform: values.platform, ...(values.out && { outDir: resolve(values.out) }) })
    for (const file of files) console.log(`  ${file.path.padEnd(44)} ${mib(file.bytes).padStart(6)} MiB`)
    console.log(`${outDir}: ${mib(bytes)} MiB in all (limit 64 MiB). Run it with: node ${runPath(join(outDir, 'siva-gpu-bench.js'))} [--steps 3 --layers 4]`)
  } catch (error) {
    console.error(`build-gpu-bench: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  }
}
