export * from './jacobi'
