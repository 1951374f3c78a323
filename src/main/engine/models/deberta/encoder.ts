import * as tf from '@tensorflow/tfjs'
import { afterAttention, checkInputs, loadEncoderLayers, readNorm, type Encoder, type EncoderLayer } from '../bert/encoder'
import type { WeightLoader } from '../bert/weights'
import { activation, applyLinear, Dropout, embed, layerNorm, matMul } from '../ops'
import type { BuildOptions, LinearFn } from '../types'
import { relativeTableRows } from './relativePositions'
import type { DebertaSettings } from './settings'
import { layerTargets } from './targets'

/**
 * DebertaV2Model (transformers 4.44, modeling_deberta_v2.py): embeddings (words, absolute positions only
 * with position_biased_input, token types only with type_vocab_size > 0; LayerNorm, then multiplied by
 * the attention mask), and post-LN layers of disentangled self-attention:
 *
 *   score(i, j) = [ q_i·k_j + q_i·Kr[c2p(i − j)] + k_j·Qr[p2c(j − i)] ] / √(d · scale_factor)
 *
 * Kr and Qr are the (layer-normed) relative embeddings projected by key_proj and query_proj
 * (share_att_key) or by pos_key_proj / pos_query_proj; scale_factor is 1 + the number of relative terms.
 * transformers projects the whole table and gathers per (i, j); here the rows the sequence's 2L − 1
 * distances need are gathered first (a row-wise projection commutes with picking rows, and a frozen
 * table needs no gather gradient, which the wasm backend lacks) and a skew turns [L, 2L − 1] products into
 * [L, L] scores. Masked keys are left out of the softmax and masked query rows give zero attention, as
 * XSoftmax does. Dropout while training where StableDropout stands: embeddings, relative embeddings (per
 * layer), attention probabilities, each sub-layer's output.
 */

interface Layer extends EncoderLayer {
  /** What projects the relative embeddings for content-to-position (key_proj, or pos_key_proj) and position-to-content. */
  positionKey?: LinearFn
  positionQuery?: LinearFn
}

/** Float32's most negative value: what XSoftmax fills masked scores with. */
const minimum = -3.4028234663852886e38

export async function loadDebertaEncoder(loader: WeightLoader, settings: DebertaSettings, prefix: string, options: BuildOptions): Promise<Encoder> {
  const { hiddenSize, numHeads, layerNormEps } = settings
  const trainAll = options.trainAll ?? false
  const embeddings = `${prefix}embeddings`
  const words = await loader.table(`${embeddings}.word_embeddings.weight`, hiddenSize)
  const positions = settings.positionBiasedInput ? await loader.table(`${embeddings}.position_embeddings.weight`, hiddenSize) : undefined
  const types = settings.typeVocabSize > 0 ? await loader.table(`${embeddings}.token_type_embeddings.weight`, hiddenSize) : undefined
  const embeddingNorm = await readNorm(loader, `${embeddings}.LayerNorm`, hiddenSize)
  const relative = settings.relativeAttention
    ? {
        table: (await loader.read(`${prefix}encoder.rel_embeddings.weight`, [2 * settings.attentionSpan, hiddenSize], 'the relative position embeddings')) as tf.Tensor2D,
        norm: settings.normalizeRelativeEmbeddings ? await readNorm(loader, `${prefix}encoder.LayerNorm`, hiddenSize) : undefined
      }
    : undefined
  const act = activation(settings.activation)

  const layers: Layer[] = await loadEncoderLayers(loader, layerTargets(settings, prefix), options.linears, { family: 'deberta', prefix, numLayers: settings.numLayers, hiddenSize, names: { query: 'query_proj', key: 'key_proj', value: 'value_proj' } })
  for (const [i, layer] of layers.entries()) {
    const module = `deberta.encoder.layer.${i}`
    const stored = `${prefix}encoder.layer.${i}`
    const own = (path: string): Promise<LinearFn> => loader.linear(`${stored}.${path}.weight`, `${stored}.${path}.bias`, [hiddenSize, hiddenSize], `${module}.${path}`)
    if (relative && settings.contentToPosition) layer.positionKey = settings.shareAttentionKey ? layer.key : await own('attention.self.pos_key_proj')
    if (relative && settings.positionToContent) layer.positionQuery = settings.shareAttentionKey ? layer.query : await own('attention.self.pos_query_proj')
  }

  const limits = { vocab: words.shape[0], types: types?.shape[0] ?? 0 }
  const headSize = hiddenSize / numHeads
  const scaleFactor = 1 + Number(settings.contentToPosition) + Number(settings.positionToContent)
  // transformers: sqrt(float32(head size) · scale_factor), in float32.
  const scale = Math.fround(Math.sqrt(headSize * scaleFactor))
  const { hidden: hiddenDropout, attention: attentionDropout } = settings.dropout

  return {
    encode(inputs, dropout = new Dropout(inputs.dropoutSeed)) {
      // type_vocab_size 0: transformers has no token type embeddings and ignores the ids.
      const { batch, length, ids, mask, typeIds } = checkInputs(types ? inputs : { ...inputs, tokenTypeIds: undefined }, limits, 'deberta-v2')
      if (positions && length > positions.shape[0]) {
        throw new Error(`deberta-v2: the sequence needs position ${length - 1} but the checkpoint has ${positions.shape[0]} position embeddings (use shorter inputs)`)
      }
      const shape: [number, number] = [batch, length]
      let summed = embed(words, tf.tensor2d(ids, shape, 'int32'), trainAll)
      if (positions) summed = tf.add(summed, embed(positions, tf.range(0, length, 1, 'int32').reshape([1, length]), trainAll))
      if (types) summed = tf.add(summed, embed(types, typeIds ? tf.tensor2d(typeIds, shape, 'int32') : tf.zeros(shape, 'int32'), trainAll))
      let hidden = layerNorm(summed, embeddingNorm[0], embeddingNorm[1], layerNormEps) as tf.Tensor3D
      // Without padding the mask changes nothing: leave it out and save the work.
      const padded = mask && mask.some((value) => value === 0) ? tf.tensor2d(Float32Array.from(mask), shape) : undefined
      if (padded) hidden = tf.mul(hidden, padded.reshape([batch, length, 1]))
      hidden = dropout.apply(hidden, hiddenDropout)
      const masks = padded && {
        keys: tf.mul(tf.sub(1, padded), minimum).reshape([batch, 1, 1, length]),
        queries: padded.reshape([batch, 1, length, 1])
      }
      const tableRows = (sign: 1 | -1): tf.Tensor1D =>
        tf.tensor1d(relativeTableRows(length, settings.attentionSpan, settings.positionBuckets, settings.maxRelativePositions, sign), 'int32')
      const rows = relative && {
        normed: relative.norm ? (layerNorm(relative.table, relative.norm[0], relative.norm[1], layerNormEps) as tf.Tensor2D) : relative.table,
        contentToPosition: settings.contentToPosition ? tableRows(1) : undefined,
        positionToContent: settings.positionToContent ? tableRows(-1) : undefined
      }
      const split = (x: tf.Tensor): tf.Tensor4D => tf.transpose(x.reshape([batch, length, numHeads, headSize]), [0, 2, 1, 3]) as tf.Tensor4D
      /** Projected relative embeddings [2L − 1, hidden] → [heads, head size, 2L − 1], ready to multiply. */
      const relativeHeads = (linear: LinearFn, table: tf.Tensor2D, picked: tf.Tensor1D): tf.Tensor3D =>
        tf.transpose(applyLinear(linear, embed(table, picked, trainAll)).reshape([2 * length - 1, numHeads, headSize]), [1, 2, 0]) as tf.Tensor3D
      for (const layer of layers) {
        const qh = split(applyLinear(layer.query, hidden))
        const kh = split(applyLinear(layer.key, hidden))
        const vh = split(applyLinear(layer.value, hidden))
        let scores = tf.div(matMul(qh, tf.transpose(kh, [0, 1, 3, 2])), scale) as tf.Tensor4D
        if (rows) {
          const table = dropout.apply(rows.normed, hiddenDropout)
          let bias: tf.Tensor4D | undefined
          if (layer.positionKey && rows.contentToPosition) bias = tf.div(skew(perHead(qh, relativeHeads(layer.positionKey, table, rows.contentToPosition))), scale) as tf.Tensor4D
          if (layer.positionQuery && rows.positionToContent) {
            const fromPositions = tf.div(tf.transpose(skew(perHead(kh, relativeHeads(layer.positionQuery, table, rows.positionToContent))), [0, 1, 3, 2]), scale) as tf.Tensor4D
            bias = bias ? (tf.add(bias, fromPositions) as tf.Tensor4D) : fromPositions
          }
          if (bias) scores = tf.add(scores, bias)
        }
        if (masks) scores = tf.add(scores, masks.keys)
        let weights = tf.softmax(scores) as tf.Tensor4D
        if (masks) weights = tf.mul(weights, masks.queries)
        weights = dropout.apply(weights, attentionDropout)
        const context = tf.transpose(matMul(weights, vh), [0, 2, 1, 3]).reshape([batch, length, hiddenSize])
        hidden = afterAttention(layer, context, hidden, { act, dropout, rate: hiddenDropout, eps: layerNormEps })
      }
      return hidden
    }
  }
}

/** x [batch, heads, length, d] times each head's own [d, w]: [batch, heads, length, w]. */
function perHead(x: tf.Tensor4D, y: tf.Tensor3D): tf.Tensor4D {
  const [batch, heads, length, size] = x.shape
  const width = y.shape[2]
  const byHead = tf.transpose(x, [1, 0, 2, 3]).reshape([heads, batch * length, size])
  return tf.transpose(matMul(byHead, y).reshape([heads, batch, length, width]), [1, 0, 2, 3]) as tf.Tensor4D
}

/**
 * [..., L, 2L − 1] with column m holding distance L − 1 − m → [..., L, L] with entry (i, j) taken from
 * the column of distance i − j, column L − 1 − i + j: read row by row with a stride one shorter than the
 * row, after skipping L − 1 entries. Reshapes and slices only, so it differentiates on every backend.
 */
function skew(x: tf.Tensor4D): tf.Tensor4D {
  const [batch, heads, length, width] = x.shape
  if (length === 1) return x
  const flat = x.reshape([batch, heads, length * width]).slice([0, 0, length - 1], [batch, heads, length * (width - 1)])
  return flat.reshape([batch, heads, length, width - 1]).slice([0, 0, 0, 0], [batch, heads, length, length]) as tf.Tensor4D
}
