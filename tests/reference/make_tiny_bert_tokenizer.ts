// Writes the character-level WordPiece tokenizer of tests/fixtures/models/tiny-bert (so the tiny model can
// be trained on text in tests and README examples): node bin/run-ts.mjs tests/reference/make_tiny_bert_tokenizer.ts
import { join } from 'node:path'
import { writeCharWordPiece } from '../helpers/tinyModels'
import { repoRoot } from '../helpers/paths'

writeCharWordPiece(join(repoRoot, 'tests/fixtures/models/tiny-bert'))
