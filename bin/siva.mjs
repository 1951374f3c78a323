#!/usr/bin/env node
// The `siva` command. In a development checkout it runs the TypeScript sources through tsx, so what
// you edit is what runs; an installed package runs the electron-vite bundle in out/main.
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const source = join(root, 'src/main/cli.ts')
const bundle = join(root, 'out/main/cli.js')

let entry
if (existsSync(source)) {
  try {
    const { register } = await import('tsx/esm/api')
    register()
    entry = source
  } catch {
    // tsx is a development dependency: without it, fall back to the bundle.
  }
}
entry ??= existsSync(bundle) ? bundle : undefined
if (!entry) {
  console.error('siva: no build found: run `npm run build` (or install the development dependencies) first')
  process.exit(1)
}
const { main } = await import(pathToFileURL(entry).href)
process.exitCode = await main(process.argv.slice(2))
