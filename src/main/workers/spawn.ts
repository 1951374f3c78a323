import { Worker } from 'node:worker_threads'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'

/**
 * Start a worker from its entry module: a bundle's .js as it is; from source (tests, `npm run siva`) a .ts
 * entry loads through tsx, registered inside the worker itself, since loader flags in a worker's execArgv
 * do not reach its module loader.
 */
export function spawnWorker(entry: URL, options: { workerData?: unknown } = {}): Worker {
  return entry.pathname.endsWith('.ts') ? new Worker(tsxBootstrap(entry), { ...options, eval: true }) : new Worker(entry, options)
}

/** Where a worker entry sits: beside the calling module, as .ts from source or .js in the bundle. */
export function workerEntry(name: string, from: string): URL {
  const fromSource = from.endsWith('.ts')
  return new URL(fromSource ? `./${name}.ts` : `./${name}.js`, from)
}

function tsxBootstrap(entry: URL): string {
  // The ESM build of tsx's API (its "import" export); require.resolve would give the CommonJS one.
  const tsxRoot = dirname(createRequire(import.meta.url).resolve('tsx/package.json'))
  const api = pathToFileURL(join(tsxRoot, 'dist/esm/api/index.mjs')).href
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}) })`
}
