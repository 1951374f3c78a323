/**
 * DeBERTa's relative positions (transformers' make_log_bucket_position and build_relative_position):
 * the distance from query i to key j is i − j; with log buckets, distances up to position_buckets / 2
 * stay as they are and longer ones share buckets on a log scale reaching max_relative_positions.
 *
 * The bucket is a ceil() of a float32 expression, so it is computed in float32 step by step as torch
 * does (Math.fround after every operation): in float64 a distance whose value lands a hair above an
 * integer in one precision and on it in the other would fall into the neighbouring bucket.
 */

const f32 = Math.fround

/** The bucket of relative distance `distance` (transformers' make_log_bucket_position, one element). */
export function logBucketPosition(distance: number, bucketSize: number, maxPosition: number): number {
  const mid = Math.floor(bucketSize / 2)
  const absolute = distance < mid && distance > -mid ? mid - 1 : Math.abs(distance)
  if (absolute <= mid) return distance
  const logOfMax = f32(Math.log(f32((maxPosition - 1) / mid)))
  const logPosition = Math.ceil(f32(f32(f32(Math.log(f32(absolute / mid))) / logOfMax) * (mid - 1))) + mid
  return Math.sign(distance) * logPosition
}

/** The relative position transformers uses for distance i − j: bucketed when both sizes are positive. */
export function relativePosition(distance: number, bucketSize: number, maxPosition: number): number {
  return bucketSize > 0 && maxPosition > 0 ? logBucketPosition(distance, bucketSize, maxPosition) : distance
}

/**
 * The row of the relative embedding table (2 · span rows) for each distance a sequence of `length`
 * tokens has, in the column order the attention's skew expects: column m is distance length − 1 − m
 * (from length − 1 down to −(length − 1)). Content-to-position (sign 1) reads the table at
 * clamp(r(d) + span) for d = i − j; position-to-content (sign −1), which transformers gathers at
 * clamp(−r(j − i) + span) and transposes, at clamp(−r(d) + span) for the distance d = j − i seen from the key.
 */
export function relativeTableRows(length: number, span: number, bucketSize: number, maxPosition: number, sign: 1 | -1): Int32Array {
  const rows = new Int32Array(2 * length - 1)
  for (let m = 0; m < rows.length; m++) {
    const position = relativePosition(length - 1 - m, bucketSize, maxPosition)
    rows[m] = Math.min(Math.max(sign * position + span, 0), 2 * span - 1)
  }
  return rows
}
