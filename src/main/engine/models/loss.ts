import * as tf from '@tensorflow/tfjs'
import { crossEntropy, meanSquaredError } from './ops'
import type { BuiltModel, ModelInputs, ModelTask } from './types'

/**
 * The loss transformers computes for each task head: cross-entropy over classes, mean squared error for
 * regression (num_labels 1), and for causal LM cross-entropy of each position's logits against the next
 * token, skipping labels of -100 (prompt and padding).
 *
 * `labels`: class ids [batch] (int32), targets [batch] (float32), or for causal LM [batch, length] ids.
 */
export function taskLoss(task: ModelTask, logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  switch (task) {
    case 'classification':
    case 'image-classification':
      return crossEntropy(logits as tf.Tensor2D, labels as tf.Tensor1D)
    case 'regression':
      return meanSquaredError(logits, labels)
    case 'causal-lm': {
      const [batch, length, vocab] = logits.shape as [number, number, number]
      if (length < 2) return tf.scalar(0)
      // Position t predicts token t + 1.
      const shiftedLogits = logits.slice([0, 0, 0], [batch, length - 1, vocab]).reshape([-1, vocab]) as tf.Tensor2D
      const shiftedLabels = labels.slice([0, 1], [batch, length - 1]).reshape([-1]) as tf.Tensor1D
      return crossEntropy(shiftedLogits, shiftedLabels)
    }
  }
}

/**
 * The training and validation loss of one batch: the model's own where it has one (a causal LM's chunked
 * loss, which never holds the [tokens, vocab] logits), else taskLoss of its logits. Both are the same number.
 */
export function lossOf(task: ModelTask, model: Pick<BuiltModel, 'forward' | 'loss'>, inputs: ModelInputs, labels: tf.Tensor): tf.Scalar {
  return model.loss ? model.loss(inputs, labels) : taskLoss(task, model.forward(inputs), labels)
}
