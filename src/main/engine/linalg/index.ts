export { firstNonFinite } from './finite'
export { svd, SvdConvergenceError, SvdInputError, SvdMemoryError } from './svd'
export type { SvdOptions, SvdResult } from './svd'
export { releaseSvdKernel, svdKernelMemoryBytes } from './svdKernel'
