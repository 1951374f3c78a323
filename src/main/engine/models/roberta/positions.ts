import type { PositionIds } from '../bert'

/**
 * RoBERTa's position ids (transformers' create_position_ids_from_input_ids): the non-padding tokens of a
 * row are numbered padding_idx + 1, padding_idx + 2, ... in order, and every padding token gets
 * padding_idx itself. Padding is recognised by its token id, not by the attention mask, so a left-padded
 * row starts its positions at its first real token.
 */
export function robertaPositionIds(paddingIdx: number): PositionIds {
  return (ids, batch, length) => {
    const positions = new Int32Array(batch * length)
    for (let row = 0; row < batch; row++) {
      let real = 0
      for (let j = 0; j < length; j++) {
        const at = row * length + j
        positions[at] = ids[at] === paddingIdx ? paddingIdx : paddingIdx + ++real
      }
    }
    return positions
  }
}
