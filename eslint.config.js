// Lint enforces the layer rules of DESIGN.md §4: a folder is a runtime, and an import across the wrong
// line fails here rather than in a packaged app.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import vue from 'eslint-plugin-vue'
import globals from 'globals'
import { builtinModules } from 'node:module'

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)]
const mainFolders = 'workers|services|ipc|server|cli|index'

/** no-restricted-imports options from named groups, so every message says which rule of the layout it breaks. */
function restrict({ paths = [], patterns = [] }) {
  return ['error', { paths, patterns }]
}

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'coverage/**', '**/*.generated.ts', 'tests/.tmp/**', 'bench/.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } }
  },
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off'
    }
  },
  {
    files: ['src/shared/**'],
    rules: {
      'no-restricted-imports': restrict({
        paths: [{ name: 'electron', message: 'src/shared holds pure contracts: no electron.' }],
        patterns: [
          { group: nodeBuiltins, message: 'src/shared runs on both sides: no Node built-ins.' },
          { regex: '^\\.\\./(main|renderer|preload)(/|$)', message: 'src/shared imports nothing else of src/.' },
          { regex: '^(?!\\.|zod$)', message: 'src/shared may import only its own files and zod.' }
        ]
      })
    }
  },
  {
    files: ['src/main/engine/**'],
    rules: {
      'no-restricted-imports': restrict({
        paths: [
          { name: 'electron', message: 'The engine is host-neutral: it never imports electron.' },
          { name: 'worker_threads', message: 'The engine never imports worker_threads: the host owns threads.' },
          { name: 'node:worker_threads', message: 'The engine never imports worker_threads: the host owns threads.' }
        ],
        patterns: [
          { regex: `^(\\.\\./)+(${mainFolders})(/|$)`, message: 'The engine never imports other src/main folders.' },
          { regex: '^(\\.\\./)+(renderer|preload)(/|$)', message: 'The engine never imports the renderer or preload.' }
        ]
      })
    }
  },
  {
    files: ['src/main/engine/peft/methods/*/**'],
    rules: {
      'no-restricted-imports': restrict({
        paths: [{ name: 'electron', message: 'The engine is host-neutral: it never imports electron.' }],
        patterns: [{ regex: '^\\.\\./[^.]', message: 'A PEFT method stands alone: it never imports a sibling method.' }]
      })
    }
  },
  {
    // Tensors are read asynchronously (await t.data()): WebGPU in Node has no synchronous read path at all
    // (dataSync fails there), and on any GPU a synchronous read blocks the thread until the queue drains.
    // Tests may still read synchronously for convenience.
    files: ['src/main/**', 'src/shared/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...Object.entries({ dataSync: 'data', arraySync: 'array', bufferSync: 'buffer' }).map(([property, read]) => ({
          property,
          message: `Read tensors asynchronously (await t.${read}(), outside tf.tidy): WebGPU in Node has no synchronous read path, and on a GPU a synchronous read blocks until the queue drains.`
        }))
      ]
    }
  },
  {
    files: ['src/main/gpuHost/**'],
    rules: {
      'no-restricted-imports': restrict({
        paths: [
          { name: 'electron', message: 'The GPU host runs in a sandboxed page: no electron.' },
          ...nodeBuiltins.map((name) => ({ name, message: 'The GPU host runs in a browser worker: Node modules reach it only as the shims its build aliases (src/main/gpuHost/shims).' }))
        ],
        patterns: [
          { regex: '^(\\.\\./)+(services|ipc|server|cli|index|workers/(?!trainingProtocol$))', message: 'The GPU host imports the engine, the shared contracts and the training protocol, not the Node hosts.' }
        ]
      })
    }
  },
  {
    files: ['src/renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': restrict({
        paths: [{ name: 'electron', message: 'The renderer never imports electron: use src/renderer/src/api.' }],
        patterns: [
          { group: nodeBuiltins, message: 'The renderer runs in a sandboxed page: no Node built-ins.' },
          { group: ['@tensorflow/*'], message: 'The renderer never runs tensor math: that is the engine\'s job.' },
          { regex: '(^|/)main(/|$)', message: 'The renderer never imports src/main: go through src/renderer/src/api.' }
        ]
      })
    }
  },
  {
    files: ['src/renderer/**'],
    ignores: ['src/renderer/src/api/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='window'][property.name='api']",
          message: 'Only src/renderer/src/api touches window.api.'
        }
      ]
    }
  },
  {
    files: ['src/preload/**'],
    rules: {
      'no-restricted-imports': restrict({
        patterns: [{ regex: '^(\\.\\./)+(main|renderer)(/|$)', message: 'The preload exposes the shared API and nothing else.' }]
      })
    }
  }
)
