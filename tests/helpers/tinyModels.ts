import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from './paths'

/** A copy of tests/fixtures/models/tiny-bert (which ships with the tokenizer writeCharWordPiece makes). */
export function tinyBertWithTokenizer(dir: string): string {
  mkdirSync(dir, { recursive: true })
  for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(repoRoot, 'tests/fixtures/models/tiny-bert', file), join(dir, file))
  return dir
}

/**
 * A character-level WordPiece tokenizer (the specials, then a–z, ##a–##z, digits and punctuation) that
 * fits tiny-bert's 120-entry embedding table, in the layout transformers saves for BERT.
 * Written into the fixture by tests/reference/make_tiny_bert_tokenizer.ts.
 */
export function writeCharWordPiece(dir: string): void {  const letters = 'abcdefghijklmnopqrstuvwxyz'.split('')
  const tokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...letters, ...letters.map((l) => `##${l}`), ...'0123456789'.split(''), ...'.,!?\'"-:;()'.split('')]
  const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]))
  const special = (content: string): object => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(special),
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
        pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
        special_tokens: { '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] } }
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab }
    })
  )
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, model_max_length: 64, cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]', tokenizer_class: 'BertTokenizer' }))
  if (tokens.length > 120) throw new Error(`the tiny vocabulary has ${tokens.length} tokens; tiny-bert has 120 embeddings`)
}

/** A learnable two-class text file: the class is whether the text holds "good" or "bad". */
export function sentimentCsv(file: string, rows: number): string {
  const fillers = ['the film was', 'we found it', 'a truly', 'honestly quite', 'the food is', 'service felt']
  const lines = ['text,label']
  for (let i = 0; i < rows; i++) {
    const good = i % 2 === 0
    lines.push(`${fillers[i % fillers.length]} ${good ? 'good' : 'bad'} ${i % 7 === 0 ? 'indeed' : ''},${good ? 'pos' : 'neg'}`)
  }
  writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}
