/**
 * One entry point for every weights source a user can point at: a Hugging Face folder (single or
 * sharded safetensors), a single .safetensors file, a TensorFlow.js model.json (or its folder), or a
 * PyTorch pytorch_model.bin / pytorch_model.bin.index.json (read without running its pickle).
 */
import { readdir, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { CheckpointFormatError, describeSystemError } from './errors'
import { readModelConfig } from './hfConfig'
import { openSafetensors } from './safetensors'
import { openShardedSafetensors } from './shardedSafetensors'
import type { TensorSource } from './tensorSource'
import { openTfjsModel } from './tfjsWeights'
import { openShardedTorchCheckpoint, openTorchCheckpoint } from './torchCheckpoint'

export type { TensorInfo, TensorSource, TfjsQuantization, UnreadableTensor } from './tensorSource'

const singleFile = 'model.safetensors'
const shardIndex = 'model.safetensors.index.json'
const tfjsModel = 'model.json'
const torchSingleFile = 'pytorch_model.bin'
const torchShardIndex = 'pytorch_model.bin.index.json'

/** Weights formats we do not read, so the error can say what the folder holds instead. */
const otherWeights = /\.(bin|pt|pth|ckpt|h5|onnx|gguf|msgpack)$/i

export async function openCheckpoint(path: string): Promise<TensorSource> {
  let isFolder: boolean
  try {
    isFolder = (await stat(path)).isDirectory()
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT'
    throw new CheckpointFormatError(path, missing ? 'no such file or folder' : `cannot open: ${describeSystemError(error)}`, { cause: error })
  }
  return isFolder ? openFolder(path) : openFile(path, path)
}

async function openFolder(folder: string): Promise<TensorSource> {
  let names: Set<string>
  try {
    names = new Set(await readdir(folder))
  } catch (error) {
    throw new CheckpointFormatError(folder, `cannot list the folder: ${describeSystemError(error)}`, { cause: error })
  }
  // safetensors first: a folder that has both is read from its safetensors.
  for (const candidate of [singleFile, shardIndex, tfjsModel, torchSingleFile, torchShardIndex]) {
    if (names.has(candidate)) return openFile(join(folder, candidate), folder)
  }
  const others = [...names].filter((name) => otherWeights.test(name)).sort()
  const found = others.length > 0 ? `; it holds ${others.join(', ')}, a format SiVA does not read (convert it to safetensors)` : ''
  throw new CheckpointFormatError(folder, `no weights found: looked for ${singleFile}, ${shardIndex}, ${tfjsModel}, ${torchSingleFile} and ${torchShardIndex}${found}`)
}

async function openFile(file: string, source: string): Promise<TensorSource> {
  const name = basename(file)
  const config = () => readModelConfig(dirname(file))
  if (name.endsWith('.bin.index.json')) return openShardedTorchCheckpoint(file, { source, config: await config() })
  if (/\.(bin|pt|pth)$/i.test(name)) return openTorchCheckpoint(file, { source, config: await config() })
  if (name.endsWith('.safetensors.index.json')) return openShardedSafetensors(file, { source, config: await config() })
  if (name.endsWith('.safetensors')) return openSafetensors(file, { source, config: await config() })
  if (name.endsWith('.json')) return openTfjsModel(file, { source, config: await config() })
  throw new CheckpointFormatError(file, `not a weights file SiVA reads: expected a .safetensors file, a ${shardIndex}, a TensorFlow.js ${tfjsModel}, or a PyTorch ${torchSingleFile} or ${torchShardIndex}`)
}
