import * as tf from '@tensorflow/tfjs'

/**
 * Two of the wasm backend's kernels spend a training step's time on copies nothing needs (profiled on a
 * BERT-base-wide SiVA step, one thread: about 150 ms of 2.35 s in Identity, 80 ms in GatherV2):
 *
 * - Identity copies its input. The engine runs it for every tensor a kernel saves for the backward pass
 *   (each matmul's frozen weight, the whole embedding table), hundreds of times a step. Tensors are
 *   immutable (kernels write new outputs; a variable's assign swaps its data), so the copy can share the
 *   data instead and count a reference, as the cpu and webgl backends' Identity does.
 * - GatherV2 of whole rows (axis 0, no batch dimensions: every embedding lookup) goes element by element;
 *   here each row is one block copy. Other gathers go to the original kernel.
 *
 * Results are identical to the originals'; `tests/unit/backend/wasmKernels.test.ts` compares them.
 */

/** The slice of the wasm backend these kernels (and fastGelu's) touch (tfjs does not export its type). */
export interface WasmBackendLike {
  incRef(dataId: object): void
  readSync(dataId: object): ArrayLike<number>
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array
}

let installed = false

export function installWasmKernels(): void {
  if (installed) return
  replace('Identity', (args, original) => {
    const x = args.inputs['x'] as tf.TensorInfo
    if (x.dtype === 'string') return original(args)
    ;(args.backend as unknown as WasmBackendLike).incRef(x.dataId)
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
  })
  replace('GatherV2', (args, original) => {
    const x = args.inputs['x'] as tf.TensorInfo
    const indices = args.inputs['indices'] as tf.TensorInfo
    const { axis, batchDims } = args.attrs as { axis: number; batchDims?: number }
    const rowAxis = axis < 0 ? axis + x.shape.length : axis
    if (rowAxis !== 0 || (batchDims ?? 0) !== 0 || indices.dtype !== 'int32' || (x.dtype !== 'float32' && x.dtype !== 'int32')) return original(args)
    const backend = args.backend as unknown as WasmBackendLike
    const ids = backend.readSync(indices.dataId)
    const rows = x.shape[0]!
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!
      if (!(id >= 0 && id < rows)) throw new Error(`GatherV2: the index value ${id} is not in [0, ${rows - 1}]`)
    }
    const row = x.shape.slice(1).reduce((a, b) => a * b, 1)
    const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype)
    // Views after makeOutput: allocating may grow the heap and detach earlier ones.
    const table = backend.typedArrayFromHeap(x)
    const target = backend.typedArrayFromHeap(out)
    for (let i = 0; i < ids.length; i++) target.set(table.subarray(ids[i]! * row, (ids[i]! + 1) * row), i * row)
    return out
  })
  installed = true
}

type Kernel = (args: Parameters<tf.KernelFunc>[0]) => tf.TensorInfo

function replace(name: string, kernelFunc: (args: Parameters<tf.KernelFunc>[0], original: Kernel) => tf.TensorInfo): void {
  const config = tf.getKernel(name, 'wasm')
  if (!config) throw new Error(`the wasm backend has no ${name} kernel to replace`)
  const original = config.kernelFunc as Kernel
  tf.unregisterKernel(name, 'wasm')
  tf.registerKernel({ ...config, kernelFunc: (args) => kernelFunc(args, original) })
}
