// Worker entry that asks Dawn for a WebGPU adapter, posts its description (or why there is none) and
// ends: the host's own thread never loads Dawn or opens a Vulkan/Metal/D3D12 instance for a probe.
import { parentPort } from 'node:worker_threads'
import { probeWebGpuAdapter } from '../engine/backend/webgpu'

if (!parentPort) throw new Error('webgpuProbeWorker must run in a worker thread')
const port = parentPort
void probeWebGpuAdapter(process.platform).then(
  (result) => port.postMessage(result),
  (error: unknown) => port.postMessage({ reason: `the WebGPU probe failed: ${error instanceof Error ? error.message : String(error)}` })
)
