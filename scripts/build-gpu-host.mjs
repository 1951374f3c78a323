// Builds the GPU training host (src/main/gpuHost) for a browser: the page, its worker and the engine, with
// Node's modules replaced by the host's remote file system and small shims. Output: out/gpuHost/.
// Usage: node scripts/build-gpu-host.mjs [outDir]
import { build } from 'esbuild'
import { copyFile, mkdir } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const source = join(root, 'src/main/gpuHost')
const shim = (name) => join(source, 'shims', name)

export async function buildGpuHost(outDir = join(root, 'out/gpuHost')) {
  await mkdir(outDir, { recursive: true })
  await build({
    absWorkingDir: root,
    entryPoints: { page: join(source, 'page.ts'), worker: join(source, 'worker.ts') },
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'warning',
    chunkNames: 'chunk-[hash]',
    alias: {
      'node:fs/promises': shim('fsPromises.ts'),
      'node:fs': shim('fs.ts'),
      'node:path': 'path-browserify',
      'node:crypto': shim('crypto.ts'),
      'node:os': shim('os.ts'),
      'node:child_process': shim('unsupported.ts'),
      'node:v8': shim('unsupported.ts'),
      'node:module': shim('unsupported.ts'),
      'node:perf_hooks': shim('unsupported.ts'),
      sharp: shim('unsupported.ts'),
      webgpu: shim('unsupported.ts')
    },
    // Backends the window never starts (it trains on webgpu only): left out of the bundle.
    external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-wasm'],
    define: { 'process.env.NODE_ENV': '"production"' }
  })
  await copyFile(join(source, 'index.html'), join(outDir, 'index.html'))
  return outDir
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(await buildGpuHost(process.argv[2] ? resolve(process.argv[2]) : undefined))
}
