import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'electron-vite'
import vue from '@vitejs/plugin-vue'
// @ts-expect-error: a plain .mjs build script, no types
import { buildGpuHost } from './scripts/build-gpu-host.mjs'

// One build for the three Electron runtimes. The main bundle also carries the headless CLI and the
// worker entries, so the packaged app and `siva` run the same code.
const root = fileURLToPath(new URL('.', import.meta.url))

/** After the main bundle: the GPU window's page (src/main/gpuHost), a browser build of the engine, beside it in out/gpuHost. */
function gpuHostPlugin(): { name: string; configResolved(config: { build: { outDir: string } }): void; closeBundle(): Promise<unknown> } {
  let mainOut = resolve(root, 'out/main')
  return {
    name: 'siva-gpu-host',
    configResolved: (config) => void (mainOut = resolve(root, config.build.outDir)),
    closeBundle: () => buildGpuHost(resolve(mainOut, '../gpuHost'))
  }
}

export default defineConfig({
  main: {
    // The GPU window's page (src/main/gpuHost): a browser build of the engine beside the main bundle, in out/gpuHost.
    plugins: [gpuHostPlugin()],
    build: {
      rollupOptions: {
        input: {
          index: resolve(root, 'src/main/index.ts'),
          cli: resolve(root, 'src/main/cli.ts'),
          analysisWorker: resolve(root, 'src/main/workers/analysisWorker.ts'),
          trainingWorker: resolve(root, 'src/main/workers/trainingWorker.ts'),
          gemmWorker: resolve(root, 'src/main/workers/gemmWorker.ts'),
          encodeWorker: resolve(root, 'src/main/workers/encodeWorker.ts'),
          webgpuProbeWorker: resolve(root, 'src/main/workers/webgpuProbeWorker.ts')
        },
        // Flat output: every module sits beside the worker entries, so a module finds a worker file
        // next to itself whether it runs from source (tsx) or from this bundle.
        output: { chunkFileNames: 'shared-[hash].js' }
      }
    }
  },
  preload: {
    build: {
      // A sandboxed preload cannot load ES modules or node_modules: one self-contained CommonJS file.
      externalizeDeps: false,
      isolatedEntries: true,
      rollupOptions: {
        input: { index: resolve(root, 'src/preload/index.ts'), gpuHost: resolve(root, 'src/preload/gpuHost.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' }
      }
    }
  },
  renderer: {
    resolve: {
      alias: {
        '@renderer': resolve(root, 'src/renderer/src'),
        '@shared': resolve(root, 'src/shared')
      }
    },
    plugins: [vue()]
  }
})
