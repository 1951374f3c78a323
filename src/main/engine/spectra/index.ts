export * from './metrics'
export * from './targets'
export * from './inspect'
