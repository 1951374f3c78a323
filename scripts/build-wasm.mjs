#!/usr/bin/env node
// Compiles the engine's C kernels to WebAssembly with SIMD128 — the SVD (src/main/engine/linalg/wasm) and
// the float32 matrix multiply that training runs on (src/main/engine/backend/wasm) — and writes each one's
// *Wasm.generated.ts: the bytes as base64 plus SOURCE_SHA256, the hash of the sources they came from, so a
// test fails when a C change was not rebuilt. The generated files are committed: CI and users never need
// clang. Needs clang 14 with the wasm32 target, wasm-ld and llvm-objdump (Debian: apt-get install clang-14
// lld-14 llvm-14). Each comes out twice, plain SIMD128 and SIMD128 + relaxed SIMD; the loader picks one.
//   npm run build:wasm
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * The modules: where their sources are, the generated file's name and constant prefix, and the fused
 * multiply-add clang 14 emits with its prototype opcode, re-encoded as the standardised relaxed_madd.
 */
const modules = [
  { dir: 'src/main/engine/linalg/wasm', output: 'svdWasm.generated.ts', prefix: 'SVD', define: 'SVD_RELAXED_SIMD', fma: { name: 'f64x2.fma', from: [0xcf, 0x01], to: [0x87, 0x02], relaxed: 'f64x2.relaxed_madd' } },
  {
    dir: 'src/main/engine/backend/wasm',
    output: 'gemmWasm.generated.ts',
    prefix: 'GEMM',
    define: 'GEMM_RELAXED_SIMD',
    fma: { name: 'f32x4.fma', from: [0xaf, 0x01], to: [0x85, 0x02], relaxed: 'f32x4.relaxed_madd' },
    // Several threads multiply in one memory: imported, shared, 24 MiB to start (8 packing slots of 2.1 MB
    // each, and the stack), room to grow to 2 GiB.
    link: ['-matomics', '-Wl,--import-memory', '-Wl,--shared-memory', '-Wl,--initial-memory=25165824', '-Wl,--max-memory=2147483648']
  }
]

/** .c and .h files sorted by name: the hash covers headers too, since they change the binary as well. */
function sourceFiles(sourceDir) {
  return readdirSync(sourceDir)
    .filter((name) => name.endsWith('.c') || name.endsWith('.h'))
    .sort()
}

/** sha256 over, for each source in name order: name, NUL, contents, NUL (mirrored by the unit test). */
function sourceHash(sourceDir, files) {
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
 * clang 14 encodes __builtin_wasm_fma_f64x2 / _f32x4 with the relaxed-SIMD prototype's opcodes (f64x2.fma
 * 0xfd 0xcf 0x01, f32x4.fma 0xfd 0xaf 0x01), which no shipping engine accepts. Rewrite each one, at the
 * offsets the disassembler reports (so that no immediate or data byte that happens to look alike is
 * touched), to the standardised relaxed_madd (f64x2 0xfd 0x87 0x02, f32x4 0xfd 0x85 0x02): same length,
 * and operands a, b, c give a·b + c, the order the sources rely on. Returns how many were rewritten.
 */
function patchRelaxedMadd(wasmPath, fma) {
  const bytes = readFileSync(wasmPath)
  const code = sectionPayload(bytes, 10)
  const listing = execFileSync(objdump(), ['-d', wasmPath], {
    encoding: 'utf8',
    maxBuffer: 1 << 28
  })
  const opcode = new RegExp(`\\b${fma.name.replace('.', '\\.')}\\b`)
  const encoding = new RegExp(`^\\s*([0-9a-f]+):\\s+fd ${fma.from.map((b) => b.toString(16).padStart(2, '0')).join(' ')}\\s`)
  let count = 0
  for (const line of listing.split('\n')) {
    if (!opcode.test(line)) continue
    const match = encoding.exec(line)
    if (!match) throw new Error(`unexpected ${fma.name} encoding: ${line.trim()}`)
    const at = code + parseInt(match[1], 16)
    if (bytes[at] !== 0xfd || bytes[at + 1] !== fma.from[0] || bytes[at + 2] !== fma.from[1]) {
      throw new Error(`${fma.name} not at code offset 0x${match[1]}`)
    }
    bytes[at + 1] = fma.to[0]
    bytes[at + 2] = fma.to[1]
    count++
  }
  writeFileSync(wasmPath, bytes)
  return { count, opcode }
}

const objdump = () => findTool([process.env.LLVM_OBJDUMP, 'llvm-objdump-14', 'llvm-objdump'], 'LLVM_OBJDUMP')
const clang = findTool([process.env.CLANG, 'clang-14', 'clang'], 'CLANG')
const scratch = mkdtempSync(join(tmpdir(), 'siva-wasm-'))

/** Compiles a module's .c sources into one module; `relaxed` adds -mrelaxed-simd and its RELAXED define. */
function compile(module, sourceDir, files, relaxed) {
  const wasmPath = join(scratch, `${module.prefix.toLowerCase()}${relaxed ? '-relaxed' : ''}.wasm`)
  const flags = [
    '--target=wasm32',
    '-O3',
    '-msimd128',
    ...(relaxed ? ['-mrelaxed-simd', `-D${module.define}`] : []),
    '-mbulk-memory', // memcpy/memset lower to memory.copy/fill: no libc needed
    '-ffreestanding',
    '-nostdlib',
    '-std=c11',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-Wl,--no-entry',
    '-Wl,--strip-all',
    ...(module.link ?? []),
    '-o',
    wasmPath,
    ...files.filter((name) => name.endsWith('.c')).map((name) => join(sourceDir, name))
  ]
  execFileSync(clang, flags, { stdio: 'inherit' })
  if (relaxed) {
    const { count, opcode } = patchRelaxedMadd(wasmPath, module.fma)
    if (count === 0) throw new Error(`the relaxed build of ${module.prefix} has no ${module.fma.name}: is the relaxed vmadd still used?`)
    const listing = execFileSync(objdump(), ['-d', wasmPath], {
      encoding: 'utf8',
      maxBuffer: 1 << 28
    })
    if (opcode.test(listing)) throw new Error(`an ${module.fma.name} was left unpatched`)
    console.log(`relaxed build of ${module.prefix}: ${count} ${module.fma.name} rewritten to ${module.fma.relaxed}`)
  }
  return readFileSync(wasmPath)
}

try {
  for (const module of modules) {
    const sourceDir = join(root, module.dir)
    const files = sourceFiles(sourceDir)
    const output = join(sourceDir, module.output)
    const plain = compile(module, sourceDir, files, false)
    const relaxed = compile(module, sourceDir, files, true)
    const p = module.prefix
    const text =
      `// Generated by scripts/build-wasm.mjs from ${module.dir}/*.{c,h}; do not edit.\n` +
      `// Rebuild with \`npm run build:wasm\` after changing the C sources (a unit test checks the hash).\n` +
      `// Two builds of the same sources: SIMD128 only, and SIMD128 + relaxed SIMD (${module.fma.relaxed}, see simd.h).\n` +
      `export const SOURCE_SHA256 = '${sourceHash(sourceDir, files)}'\n` +
      `export const ${p}_WASM_BYTES = ${plain.length}\n` +
      `export const ${p}_WASM_BASE64 =\n  '${plain.toString('base64')}'\n` +
      `export const ${p}_WASM_RELAXED_BYTES = ${relaxed.length}\n` +
      `export const ${p}_WASM_RELAXED_BASE64 =\n  '${relaxed.toString('base64')}'\n`
    const tmp = `${output}.tmp`
    writeFileSync(tmp, text)
    renameSync(tmp, output)
    console.log(`wrote ${output} (${plain.length} + ${relaxed.length} bytes of wasm from ${files.length} sources)`)
  }
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
