import * as tf from '@tensorflow/tfjs'

/**
 * Where tfjs-backend-webgpu 4.22 goes wrong for training, put right when the backend starts:
 *
 * - AddN binds every input as its own storage buffer, and the device tfjs asks for keeps WebGPU's default
 *   of 8 per shader stage. A sum of more than 7 tensors (the gradient norm over a model's adapters) is then
 *   an invalid pipeline: Dawn logs a validation error, drops the whole command buffer, and later reads return
 *   stale bytes (a GPT-2 step's loss read as 0). Here such a sum is taken in groups that fit.
 * - A validation or out-of-memory error on the device is otherwise only logged, and every result after it is
 *   garbage. The first one is kept and the next read throws with its message, so a run stops with the
 *   reason instead of training on zeros.
 */

/** The slice of tfjs-backend-webgpu's backend used here (tfjs does not export its type). */
interface WebGpuBackendLike {
  device: { limits: { maxStorageBuffersPerShaderStage: number }; addEventListener(type: 'uncapturederror', listener: (event: { error: { message: string } }) => void): void }
  disposeData(dataId: object): boolean
  getBufferData(buffer: object): Promise<ArrayBuffer>
}

type Kernel = (args: Parameters<tf.KernelFunc>[0]) => tf.TensorInfo

let installed = false

export function installWebGpuKernels(): void {
  if (installed) return
  const backend = tf.backend() as unknown as WebGpuBackendLike
  splitWideAddN(backend.device.limits.maxStorageBuffersPerShaderStage - 1)
  failReadsAfterDeviceErrors(backend)
  installed = true
}

function splitWideAddN(maxInputs: number): void {
  const config = tf.getKernel('AddN', 'webgpu')
  if (!config) throw new Error('the webgpu backend has no AddN kernel to replace')
  const original = config.kernelFunc as Kernel
  tf.unregisterKernel('AddN', 'webgpu')
  tf.registerKernel({
    ...config,
    kernelFunc: (args) => {
      let tensors = args.inputs as unknown as tf.TensorInfo[]
      const backend = args.backend as unknown as WebGpuBackendLike
      const made: tf.TensorInfo[] = []
      while (tensors.length > maxInputs) {
        const sums: tf.TensorInfo[] = []
        for (let i = 0; i < tensors.length; i += maxInputs) {
          const group = tensors.slice(i, i + maxInputs)
          if (group.length === 1) sums.push(group[0]!)
          else {
            const sum = original({ ...args, inputs: group as unknown as tf.NamedTensorInfoMap })
            made.push(sum)
            sums.push(sum)
          }
        }
        tensors = sums
      }
      const result = original({ ...args, inputs: tensors as unknown as tf.NamedTensorInfoMap })
      // The partial sums are this kernel's own: the engine never sees them, so they are freed here.
      for (const partial of made) backend.disposeData(partial.dataId)
      return result
    }
  })
}

function failReadsAfterDeviceErrors(backend: WebGpuBackendLike): void {
  let firstError: string | undefined
  backend.device.addEventListener('uncapturederror', (event) => {
    firstError ??= event.error.message.split('\n')[0]!.trim()
  })
  const read = backend.getBufferData.bind(backend)
  backend.getBufferData = async (buffer) => {
    const values = await read(buffer)
    if (firstError !== undefined) throw new Error(`the WebGPU device reported an error, so results computed since cannot be trusted: ${firstError}`)
    return values
  }
}
