import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { blasEnv, describeBlas, openblasCoreCandidates, probeOpenBlas } from '../../../bench/blasCore'

// /proc/cpuinfo excerpts (only the lines the mapping reads), as these CPUs report them.
const cpu = (vendor: string, flags: string): string => `processor\t: 0\nvendor_id\t: ${vendor}\nmodel name\t: x\nflags\t\t: ${flags}\n\nprocessor\t: 1\n`
const base = 'fpu sse sse2 pni ssse3 sse4_1 sse4_2 popcnt'
const avx2 = `${base} avx f16c fma avx2 bmi1 bmi2`
const skx = `${avx2} avx512f avx512dq avx512cd avx512bw avx512vl`

describe('openblasCoreCandidates (cpu flags → OpenBLAS core names, best first)', () => {
  it('maps a Sapphire Rapids to SapphireRapids, then the AVX-512 and AVX2 sets below it', () => {
    expect(openblasCoreCandidates(cpu('GenuineIntel', `${skx} avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8`))).toEqual(['SapphireRapids', 'Cooperlake', 'SkylakeX', 'Haswell', 'Sandybridge', 'Nehalem', 'Core2', 'Prescott'])
  })

  it('maps a Zen 4 (AMD, AVX-512 with bf16, no AMX) to Cooperlake first and keeps Zen before Haswell', () => {
    expect(openblasCoreCandidates(cpu('AuthenticAMD', `${skx} avx512_bf16 avx512vbmi avx512_vnni`))).toEqual(['Cooperlake', 'SkylakeX', 'Zen', 'Haswell', 'Sandybridge', 'Nehalem', 'Core2', 'Prescott'])
  })

  it('maps a Skylake-SP (AVX-512 without bf16) to SkylakeX', () => {
    expect(openblasCoreCandidates(cpu('GenuineIntel', skx))[0]).toBe('SkylakeX')
  })

  it('needs all five AVX-512 subsets for SkylakeX (avx512f alone is not enough)', () => {
    expect(openblasCoreCandidates(cpu('GenuineIntel', `${avx2} avx512f`))[0]).toBe('Haswell')
  })

  it('maps a Zen 3 (AMD, AVX2) to Zen, an Intel AVX2 desktop to Haswell', () => {
    expect(openblasCoreCandidates(cpu('AuthenticAMD', avx2)).slice(0, 2)).toEqual(['Zen', 'Haswell'])
    expect(openblasCoreCandidates(cpu('GenuineIntel', avx2))[0]).toBe('Haswell')
  })

  it('maps an SSE-only CPU down to Nehalem, Core2 and Prescott', () => {
    expect(openblasCoreCandidates(cpu('GenuineIntel', base))).toEqual(['Nehalem', 'Core2', 'Prescott'])
    expect(openblasCoreCandidates(cpu('GenuineIntel', 'fpu sse sse2 pni'))).toEqual(['Prescott'])
  })

  it('gives nothing on arm64 (a Features line, no flags): OpenBLAS detects on its own there', () => {
    expect(openblasCoreCandidates('processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes sha2 crc32 atomics\n')).toEqual([])
  })
})

describe('describeBlas', () => {
  const info = { library: '/usr/lib/libopenblasp-r0.3.21.so', corename: 'Prescott', threads: 1, config: 'OpenBLAS 0.3.21 DYNAMIC_ARCH Prescott' }
  it('warns when the reference ran on another core than the one asked for', () => {
    expect(describeBlas(info, { env: {}, coretype: 'SkylakeX', how: 'x' })).toBe('OpenBLAS 0.3.21, core Prescott, 1 thread (x) — WARNING: it ran on Prescott, not the SkylakeX asked for')
  })
  it('says when the reference loaded no OpenBLAS', () => {
    expect(describeBlas(null, { env: {}, how: 'y' })).toBe('no OpenBLAS loaded in the reference (y)')
  })
})

// Debian's numpy links OpenBLAS 0.3.21, the library whose own detection has taken AVX-512 CPUs for Prescott.
const debianPython = '/usr/bin/python3'
const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : ''
const hasAvx2 = /^flags\s*:.*\bavx2\b/m.test(cpuinfo)
const debianNumpy = spawnSync(debianPython, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0

describe.skipIf(!hasAvx2 || !debianNumpy)('blasEnv with Debian python3 (skipped where /proc/cpuinfo lists no AVX2 or /usr/bin/python3 has no numpy)', () => {
  it('chooses a core the library reads back, at least Haswell, never Prescott, and leaves process.env alone', () => {
    const before = process.env['OPENBLAS_CORETYPE']
    const choice = blasEnv(debianPython, { PATH: process.env['PATH'] })
    expect(process.env['OPENBLAS_CORETYPE']).toBe(before)
    expect(choice.coretype).toBeDefined()
    const read = probeOpenBlas(debianPython, choice.env)
    expect(read).not.toBeNull()
    expect(read!.corename).toBe(choice.coretype)
    expect(read!.corename).not.toBe('Prescott')
    expect(['SapphireRapids', 'Cooperlake', 'SkylakeX', 'Zen', 'Haswell']).toContain(read!.corename)
  })

  it('keeps a core the user set, and the reference runs on it', () => {
    const choice = blasEnv(debianPython, { PATH: process.env['PATH'], OPENBLAS_CORETYPE: 'Sandybridge' })
    expect(choice.how).toBe('OPENBLAS_CORETYPE=Sandybridge, set by you')
    expect(probeOpenBlas(debianPython, choice.env)!.corename).toBe('Sandybridge')
  })
})
