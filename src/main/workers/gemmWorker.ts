// Worker entry for a matmul helper thread: it multiplies its share of large products in the kernel's shared
// memory until told to stop (engine/backend/fastMatMul.ts holds the protocol).
import { workerData } from 'node:worker_threads'
import { runGemmHelper, type GemmHelperData } from '../engine/backend/fastMatMul'

runGemmHelper(workerData as GemmHelperData)
