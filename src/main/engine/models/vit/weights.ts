import { CheckpointWeights } from '../weights'

/**
 * A ViT's weights (see CheckpointWeights, whose `linear` also lays out the patch kernel). With `trainAll`,
 * each keeps the checkpoint's shape (the patch kernel stays [hidden, channels, p, p]).
 */
export class VitWeights extends CheckpointWeights {}
