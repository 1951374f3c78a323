export { openCheckpoint, type TensorInfo, type TensorSource, type TfjsQuantization, type UnreadableTensor } from './checkpoint'
export {
  bfloat16Bits,
  bfloat16BitsToNumber,
  decodeToFloat64,
  dtypeByteSize,
  dtypes,
  elementCount,
  encodeFloat64,
  float16Bits,
  float16BitsToNumber,
  float32Bits,
  float32BitsToNumber,
  isDtype,
  isFloatDtype,
  type Dtype,
  type FloatEncoding
} from './dtypes'
export { CheckpointFormatError } from './errors'
export { requireFiniteWeights } from './finiteValues'
export { ConfigFields } from './configFields'
export { configLimits, describeModel, readModelConfig, type ModelDescription } from './hfConfig'
export { openSafetensors, SafetensorsFile, writeSafetensors, type TensorData, type TensorToWrite } from './safetensors'
export { maxHeaderBytes } from './safetensorsHeader'
export { openShardedSafetensors, ShardedSafetensors } from './shardedSafetensors'
export { openTfjsModel, TfjsWeights } from './tfjsWeights'
export { openShardedTorchCheckpoint, openTorchCheckpoint, TorchCheckpoint } from './torchCheckpoint'
export { writeFileAtomically } from './atomicWrite'
export { writeJsonAtomically } from './jsonFile'
export { describeUseGraph, useTensors } from './useGraph'
