// The benches' Python references (numpy, scipy, PyTorch) run on OpenBLAS, which picks its kernels from
// cpuid at load time. Debian's 0.3.21 has been seen to take an AVX-512 CPU for a `Prescott` (SSE3
// generic kernels, about 6× slower here), which made every ratio against it flattering. So every bench
// asks this module for the child's environment: OPENBLAS_CORETYPE set to the best kernel set the CPU's
// flags allow that the reference's own OpenBLAS accepts (read back from the library, since an older
// OpenBLAS silently ignores a name it does not know), unless the user set OPENBLAS_CORETYPE themselves.
// The references print the core they actually ran on (bench/openblas_info.py) and the bench prints it
// next to the ratio.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const infoScript = join(fileURLToPath(new URL('.', import.meta.url)), 'openblas_info.py')

/** What bench/openblas_info.py prints: the OpenBLAS a Python process loaded and the kernels it runs. */
export interface OpenBlasInfo {
  library: string
  corename: string
  threads: number | null
  config: string | null
}

export interface BlasChoice {
  /** The child's environment: the caller's, plus OPENBLAS_CORETYPE where one was chosen. */
  env: NodeJS.ProcessEnv
  /** The core asked for (undefined: the library's own detection runs). */
  coretype?: string
  /** How it was decided, for the bench's output. */
  how: string
}

/** All listed flags present. */
const has = (flags: ReadonlySet<string>, ...names: string[]): boolean => names.every((name) => flags.has(name))

/**
 * OpenBLAS's x86-64 core names this CPU can run, best first, from /proc/cpuinfo's text. Names are
 * OpenBLAS's DYNAMIC_ARCH targets; which of them a given OpenBLAS knows is for the library to say
 * (0.3.21 has no SapphireRapids, the scipy-openblas wheels build no Cooperlake), so the caller tries
 * them in order. Empty where there is no x86 flags line (arm64 reports "Features"; OpenBLAS's own
 * detection is left alone there).
 */
export function openblasCoreCandidates(cpuinfo: string): string[] {
  const flagsLine = /^flags\s*:(.*)$/m.exec(cpuinfo)
  if (!flagsLine) return []
  const flags = new Set(flagsLine[1]!.trim().split(/\s+/))
  const amd = /^vendor_id\s*:\s*AuthenticAMD/m.test(cpuinfo)
  const skylakeX = has(flags, 'avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl')
  const candidates: string[] = []
  if (skylakeX && has(flags, 'avx512_bf16', 'avx512_fp16', 'amx_bf16', 'amx_tile')) candidates.push('SapphireRapids')
  if (skylakeX && flags.has('avx512_bf16')) candidates.push('Cooperlake')
  if (skylakeX) candidates.push('SkylakeX')
  // Zen's kernels are Haswell's with AMD's cache sizes; an OpenBLAS that folds Zen into Haswell reads back "Haswell".
  if (amd && has(flags, 'avx2', 'fma')) candidates.push('Zen')
  if (has(flags, 'avx2', 'fma')) candidates.push('Haswell')
  if (flags.has('avx')) candidates.push('Sandybridge')
  if (flags.has('sse4_2')) candidates.push('Nehalem')
  if (flags.has('ssse3')) candidates.push('Core2')
  if (flags.has('pni')) candidates.push('Prescott')
  return candidates
}

/** The OpenBLAS `python` loads (after importing numpy) under `env`, or null where it loads none. */
export function probeOpenBlas(python: string, env: NodeJS.ProcessEnv): OpenBlasInfo | null {
  const run = spawnSync(python, [infoScript, 'numpy'], { env, encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`${python} ${infoScript} failed (is numpy installed for it?): ${run.stderr.trim().split('\n').pop()}`)
  return JSON.parse(run.stdout) as OpenBlasInfo | null
}

const chosen = new Map<string, BlasChoice>()

/**
 * The environment for a Python reference run by `python`: the best core this CPU supports that its
 * OpenBLAS accepts. Decided once per interpreter per process (each probe is a short Python start).
 */
export function blasEnv(python: string, base: NodeJS.ProcessEnv = process.env, cpuinfo = readCpuinfo()): BlasChoice {
  const user = base['OPENBLAS_CORETYPE']
  if (user) return { env: base, coretype: user, how: `OPENBLAS_CORETYPE=${user}, set by you` }
  const cached = chosen.get(python)
  if (cached) return { ...cached, env: { ...base, ...(cached.coretype && { OPENBLAS_CORETYPE: cached.coretype }) } }
  const choice = decide(python, base, cpuinfo)
  chosen.set(python, choice)
  return choice
}

function decide(python: string, base: NodeJS.ProcessEnv, cpuinfo: string): BlasChoice {
  const candidates = openblasCoreCandidates(cpuinfo)
  if (candidates.length === 0) return { env: base, how: "OpenBLAS's own detection (no x86 flags in /proc/cpuinfo)" }
  const own = probeOpenBlas(python, base)
  if (!own) return { env: base, how: `${python} loads no OpenBLAS; its BLAS is left as it is` }
  for (const candidate of candidates) {
    const env = { ...base, OPENBLAS_CORETYPE: candidate }
    const read = probeOpenBlas(python, env)
    if (read && read.corename.toLowerCase() === candidate.toLowerCase()) {
      const detected = own.corename.toLowerCase() === candidate.toLowerCase() ? 'the same as its own detection' : `its own detection said ${own.corename}`
      return { env, coretype: candidate, how: `OPENBLAS_CORETYPE=${candidate}, the best of this CPU's flags that ${libraryName(own)} accepts (${detected})` }
    }
  }
  return { env: base, how: `${libraryName(own)} accepted none of ${candidates.join(', ')}; its own detection (${own.corename}) runs` }
}

function libraryName(info: OpenBlasInfo): string {
  return /^OpenBLAS \S+/.exec(info.config ?? '')?.[0] ?? info.library
}

/** "OpenBLAS 0.3.21, core Cooperlake, 1 thread (…how it was chosen…)", and a warning if the reference ran on another core than asked. */
export function describeBlas(info: OpenBlasInfo | null | undefined, choice: BlasChoice): string {
  if (!info) return `no OpenBLAS loaded in the reference (${choice.how})`
  const threads = info.threads === null ? '' : `, ${info.threads} thread${info.threads === 1 ? '' : 's'}`
  const line = `${libraryName(info)}, core ${info.corename}${threads} (${choice.how})`
  if (choice.coretype && info.corename.toLowerCase() !== choice.coretype.toLowerCase()) return `${line} — WARNING: it ran on ${info.corename}, not the ${choice.coretype} asked for`
  return line
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8')
  } catch {
    return ''
  }
}
