// A BERT-base-wide checkpoint with random weights, written in TypeScript so that a bench needs no Python
// to make its model (bench:train's SiVA step, the GPU bench bundle): 768 hidden, 12 heads, 3072 MLP, a
// 30522-token vocabulary, as many layers as asked, in transformers' names and layout (the same shapes as
// bench/make_bert_random.py; the random values differ, which no timing depends on).
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { writeJsonAtomically, writeSafetensors, type TensorToWrite } from '../src/main/engine/io'
import { fillNormal } from './seededNormal'

const hidden = 768
const heads = 12
const inner = 3072
const vocab = 30522
const positions = 512

/** Write config.json and model.safetensors into `dir` unless model.safetensors is there already. */
export async function ensureBertCheckpoint(dir: string, layers: number, log: (line: string) => void = () => {}): Promise<void> {
  if (existsSync(join(dir, 'model.safetensors'))) return
  log(`writing a BERT-base-wide random checkpoint with ${layers} layers to ${dir}…`)
  mkdirSync(dir, { recursive: true })
  const tensors: TensorToWrite[] = []
  // Each tensor's values are made when the writer reaches it, so memory holds one tensor at a time.
  const add = (name: string, shape: number[], fill?: number): void => {
    const seed = tensors.length + 7
    const count = shape.reduce((a, b) => a * b, 1)
    tensors.push({ name, dtype: 'F32', shape, data: () => (fill === undefined ? fillNormal(new Float32Array(count), 0.02, seed) : new Float32Array(count).fill(fill)) })
  }
  add('bert.embeddings.word_embeddings.weight', [vocab, hidden])
  add('bert.embeddings.position_embeddings.weight', [positions, hidden])
  add('bert.embeddings.token_type_embeddings.weight', [2, hidden])
  add('bert.embeddings.LayerNorm.weight', [hidden], 1)
  add('bert.embeddings.LayerNorm.bias', [hidden], 0)
  for (let i = 0; i < layers; i++) {
    const p = `bert.encoder.layer.${i}`
    for (const name of ['query', 'key', 'value']) {
      add(`${p}.attention.self.${name}.weight`, [hidden, hidden])
      add(`${p}.attention.self.${name}.bias`, [hidden])
    }
    add(`${p}.attention.output.dense.weight`, [hidden, hidden])
    add(`${p}.attention.output.dense.bias`, [hidden])
    add(`${p}.attention.output.LayerNorm.weight`, [hidden], 1)
    add(`${p}.attention.output.LayerNorm.bias`, [hidden], 0)
    add(`${p}.intermediate.dense.weight`, [inner, hidden])
    add(`${p}.intermediate.dense.bias`, [inner])
    add(`${p}.output.dense.weight`, [hidden, inner])
    add(`${p}.output.dense.bias`, [hidden])
    add(`${p}.output.LayerNorm.weight`, [hidden], 1)
    add(`${p}.output.LayerNorm.bias`, [hidden], 0)
  }
  add('bert.pooler.dense.weight', [hidden, hidden])
  add('bert.pooler.dense.bias', [hidden])
  // config.json first: a folder with model.safetensors is taken as complete.
  await writeJsonAtomically(join(dir, 'config.json'), {
    architectures: ['BertForSequenceClassification'],
    attention_probs_dropout_prob: 0.1,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: hidden,
    initializer_range: 0.02,
    intermediate_size: inner,
    layer_norm_eps: 1e-12,
    max_position_embeddings: positions,
    model_type: 'bert',
    num_attention_heads: heads,
    num_hidden_layers: layers,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    type_vocab_size: 2,
    vocab_size: vocab
  })
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' })
}
