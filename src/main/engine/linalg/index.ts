export { firstNonFinite } from './finite'
export { svd, SvdInputError } from './svd'
export type { SvdOptions, SvdResult } from './svd'
export { releaseSvdKernel, svdKernelMemoryBytes } from './svdKernel'
