#!/usr/bin/env node
// Compiles the SVD kernel (src/main/engine/linalg/wasm/*.c) to WebAssembly with SIMD128 and writes
// svdWasm.generated.ts: the bytes as base64 plus SOURCE_SHA256, the hash of the sources they came from, so
// a test fails when a C change was not rebuilt. The generated file is committed: CI and users never need
// clang. Needs clang 14 with the wasm32 target, wasm-ld and llvm-objdump (Debian: apt-get install clang-14
// lld-14 llvm-14). Two modules come out, plain SIMD128 and SIMD128 + relaxed SIMD; svdKernel.ts picks one.
//   npm run build:wasm
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const sourceDir = join(root, 'src/main/engine/linalg/wasm')
const output = join(sourceDir, 'svdWasm.generated.ts')

/** .c and .h files sorted by name: the hash covers headers too, since they change the binary as well. */
function sourceFiles() {
  return readdirSync(sourceDir)
    .filter((name) => name.endsWith('.c') || name.endsWith('.h'))
    .sort()
}

/** sha256 over, for each source in name order: name, NUL, contents, NUL (mirrored by the unit test). */
function sourceHash(files) {
  const hash = createHash('sha256')
  for (const name of files) {
    hash.update(name)
    hash.update('\0')
    hash.update(readFileSync(join(sourceDir, name)))
    hash.update('\0')
  }
  return hash.digest('hex')
}

/** The first of `names` that runs; `envName` names the variable that overrides the search in the error. */
function findTool(names, envName) {
  for (const candidate of names.filter(Boolean)) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' })
      return candidate
    } catch {
      // try the next name
    }
  }
  throw new Error(`${names.filter(Boolean).join(' / ')} not found: install clang-14, lld-14 and llvm-14, or set ${envName}=/path/to/it`)
}

/** Byte offset in `bytes` where the payload of the section with id `wanted` starts (wasm binary format). */
function sectionPayload(bytes, wanted) {
  let at = 8 // magic and version
  while (at < bytes.length) {
    const id = bytes[at++]
    let size = 0
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++]
      size += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) break
    }
    if (id === wanted) return at
    at += size
  }
  throw new Error(`no section ${wanted} in the module`)
}

/**
 * clang 14 encodes __builtin_wasm_fma_f64x2 with the relaxed-SIMD prototype's opcode (f64x2.fma, 0xfd 0xcf
 * 0x01), which no shipping engine accepts. Rewrite each one, at the offsets the disassembler reports (so
 * that no immediate or data byte that happens to look alike is touched), to the standardised
 * f64x2.relaxed_madd (0xfd 0x87 0x02): same length, and operands a, b, c give a·b + c, the order simd.h
 * relies on. Returns how many were rewritten.
 */
function patchRelaxedMadd(wasmPath) {
  const bytes = readFileSync(wasmPath)
  const code = sectionPayload(bytes, 10)
  const listing = execFileSync(objdump(), ['-d', wasmPath], {
    encoding: 'utf8',
    maxBuffer: 1 << 28
  })
  let count = 0
  for (const line of listing.split('\n')) {
    if (!/\bf64x2\.fma\b/.test(line)) continue
    const match = /^\s*([0-9a-f]+):\s+fd cf 01\s/.exec(line)
    if (!match) throw new Error(`unexpected f64x2.fma encoding: ${line.trim()}`)
    const at = code + parseInt(match[1], 16)
    if (bytes[at] !== 0xfd || bytes[at + 1] !== 0xcf || bytes[at + 2] !== 0x01) {
      throw new Error(`f64x2.fma not at code offset 0x${match[1]}`)
    }
    bytes[at + 1] = 0x87
    bytes[at + 2] = 0x02
    count++
  }
  writeFileSync(wasmPath, bytes)
  return count
}

const files = sourceFiles()
const objdump = () => findTool([process.env.LLVM_OBJDUMP, 'llvm-objdump-14', 'llvm-objdump'], 'LLVM_OBJDUMP')
const clang = findTool([process.env.CLANG, 'clang-14', 'clang'], 'CLANG')
const scratch = mkdtempSync(join(tmpdir(), 'siva-wasm-'))

/** Compiles all .c sources into one module; `relaxed` adds -mrelaxed-simd and SVD_RELAXED_SIMD (simd.h). */
function compile(relaxed) {
  const wasmPath = join(scratch, relaxed ? 'svd-relaxed.wasm' : 'svd.wasm')
  const flags = [
    '--target=wasm32',
    '-O3',
    '-msimd128', // f64x2 vectors
    ...(relaxed ? ['-mrelaxed-simd', '-DSVD_RELAXED_SIMD'] : []),
    '-mbulk-memory', // memcpy/memset lower to memory.copy/fill: no libc needed
    '-ffreestanding',
    '-nostdlib',
    '-std=c11',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-Wl,--no-entry',
    '-Wl,--strip-all',
    '-o',
    wasmPath,
    ...files.filter((name) => name.endsWith('.c')).map((name) => join(sourceDir, name))
  ]
  execFileSync(clang, flags, { stdio: 'inherit' })
  if (relaxed) {
    const count = patchRelaxedMadd(wasmPath)
    if (count === 0) throw new Error('the relaxed build has no f64x2.fma: is simd.h still used?')
    const listing = execFileSync(objdump(), ['-d', wasmPath], {
      encoding: 'utf8',
      maxBuffer: 1 << 28
    })
    if (/\bf64x2\.fma\b/.test(listing)) throw new Error('an f64x2.fma was left unpatched')
    console.log(`relaxed build: ${count} f64x2.fma rewritten to f64x2.relaxed_madd`)
  }
  return readFileSync(wasmPath)
}

try {
  const plain = compile(false)
  const relaxed = compile(true)
  const text =
    `// Generated by scripts/build-wasm.mjs from src/main/engine/linalg/wasm/*.{c,h}; do not edit.\n` +
    `// Rebuild with \`npm run build:wasm\` after changing the C sources (a unit test checks the hash).\n` +
    `// Two builds of the same sources: SIMD128 only, and SIMD128 + relaxed SIMD (f64x2.relaxed_madd, see simd.h).\n` +
    `export const SOURCE_SHA256 = '${sourceHash(files)}'\n` +
    `export const SVD_WASM_BYTES = ${plain.length}\n` +
    `export const SVD_WASM_BASE64 =\n  '${plain.toString('base64')}'\n` +
    `export const SVD_WASM_RELAXED_BYTES = ${relaxed.length}\n` +
    `export const SVD_WASM_RELAXED_BASE64 =\n  '${relaxed.toString('base64')}'\n`
  const tmp = `${output}.tmp`
  writeFileSync(tmp, text)
  renameSync(tmp, output)
  console.log(`wrote ${output} (${plain.length} + ${relaxed.length} bytes of wasm from ${files.length} sources)`)
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
