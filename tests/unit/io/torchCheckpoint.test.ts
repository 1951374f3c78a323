import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { writeMergedCheckpoint } from '../../../src/main/engine/export/merged'
import { CheckpointFormatError, openCheckpoint, openSafetensors, SafetensorsFile, TorchCheckpoint, type TensorSource } from '../../../src/main/engine/io'
import type { InspectReport } from '../../../src/shared/spectra'
import { hfrefDir, runHfPython } from '../../helpers/hfref'
import { repoRoot, tempDir } from '../../helpers/paths'
import { sentimentCsv } from '../../helpers/tinyModels'

// PyTorch checkpoints written by Debian's real torch 1.13 (torch.save) and the real transformers 4.44
// (save_pretrained(safe_serialization=False)) in tests/reference/torch_save_fixtures.py; the values
// torch holds come from the same script, as float64 JSON, and the singular values from numpy.
let dir: string
let sentinel: string
let values: Record<string, { dtype: string; shape: number[]; values: number[] }>
let spectra: Record<string, { shape: number[]; singularValues: number[] }>
const tinyBert = join(repoRoot, 'tests/fixtures/models/tiny-bert')

beforeAll(() => {
  dir = tempDir('torch-ckpt')
  sentinel = join(dir, 'SENTINEL')
  runHfPython(join(repoRoot, 'tests/reference/torch_save_fixtures.py'), [dir, sentinel])
  values = JSON.parse(readFileSync(join(dir, 'dtypes.json'), 'utf8'))
  spectra = JSON.parse(readFileSync(join(dir, 'bert.json'), 'utf8'))
}, 60_000)

async function withSource<T>(path: string, use: (source: TensorSource) => Promise<T>): Promise<T> {
  const source = await openCheckpoint(path)
  try {
    return await use(source)
  } finally {
    await source.close()
  }
}

async function refusal(path: string): Promise<CheckpointFormatError> {
  const error = await openCheckpoint(path).then(
    (source) => source.close().then(() => undefined),
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(CheckpointFormatError)
  return error as CheckpointFormatError
}

describe('torch.save state dicts', () => {
  it('reads every dtype, views, offsets, tied weights and a 0-d tensor as torch holds them', async () => {
    await withSource(join(dir, 'dtypes.bin'), async (source) => {
      expect(source).toBeInstanceOf(TorchCheckpoint)
      expect(source.tensors.map((t) => t.name)).toEqual(Object.keys(values))
      for (const t of source.tensors) {
        const expected = values[t.name]!
        expect([t.name, t.dtype, t.shape]).toEqual([t.name, expected.dtype, expected.shape])
        const read = await source.readFloat64(t.name)
        expect([t.name, Array.from(read)]).toEqual([t.name, expected.values])
        expect((await source.readRaw(t.name)).byteLength).toBe(t.byteLength)
      }
    })
  })

  it('copies slices of a shared storage out in row-major order', async () => {
    await withSource(join(dir, 'dtypes.bin'), async (source) => {
      expect(source.tensors.find((t) => t.name === 'transposed')!.shape).toEqual([3, 5])
      const sliced = Array.from(await source.readFloat64('sliced'))
      const wide = Array.from(await source.readFloat64('wide'))
      expect(sliced).toEqual([1, 2, 3].flatMap((r) => [2, 3, 4].map((c) => wide[r * 6 + c]!)))
      expect(Array.from(await source.readFloat64('row'))).toEqual(wide.slice(12, 18))
    })
  })

  it('refuses a pickle that calls os.system, names the global, and runs nothing', async () => {
    const error = await refusal(join(dir, 'malicious.bin'))
    expect(error.message).toMatch(/names the global posix\.system, which a state dict never uses: SiVA refuses the file and runs nothing/)
    expect(error.message).toContain(join(dir, 'malicious.bin'))
    expect((await refusal(join(dir, 'malicious-eval.bin'))).message).toMatch(/the global __builtin__\.eval/) // protocol 2 spells builtins the Python 2 way
    expect(existsSync(sentinel)).toBe(false)
    // …while torch.load of the same payload aimed elsewhere did run it (torch_save_fixtures.py).
    expect(existsSync(join(dir, 'payload-ran'))).toBe(true)
  })

  it('refuses the legacy (pre-1.6) format with what to do', async () => {
    expect((await refusal(join(dir, 'legacy.bin'))).message).toMatch(/legacy serialization format \(torch < 1\.6.*re-save it with a newer torch.*or convert it to safetensors/)
  })
})

describe('hostile and unusual archives', () => {
  it('refuses compressed entries, big-endian files, unknown opcodes and views past their storage, naming the file and the tensor', async () => {
    const original = readFileSync(join(dir, 'dtypes.bin'))
    // Central directory method field of the first entry → deflate.
    const compressed = Buffer.from(original)
    const cd = compressed.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))
    compressed.writeUInt16LE(8, cd + 10)
    writeFileSync(join(dir, 'compressed.bin'), compressed)
    expect((await refusal(join(dir, 'compressed.bin'))).message).toMatch(/compressed.bin: zip entry dtypes\/data\.pkl is compressed \(method 8\)/)

    const pickle = (body: number[]): Buffer => Buffer.from([0x80, 0x02, ...body, 0x2e])
    const str = (s: string): number[] => [0x8c, s.length, ...Buffer.from(s)]
    const global = (m: string, n: string): number[] => [0x63, ...Buffer.from(`${m}\n${n}\n`)]
    const tensor = (offset: number, size: number[], stride: number[], numel: number): number[] => [
      ...global('torch._utils', '_rebuild_tensor_v2'),
      0x28,
      ...[0x28, ...str('storage'), ...global('torch', 'FloatStorage'), ...str('0'), ...str('cpu'), 0x4b, numel, 0x74, 0x51],
      0x4b, offset,
      0x28, ...size.flatMap((s) => [0x4b, s]), 0x74,
      0x28, ...stride.flatMap((s) => [0x4b, s]), 0x74,
      0x89, ...global('collections', 'OrderedDict'), 0x29, 0x52,
      0x74, 0x52
    ]
    const state = (...items: number[][]): Buffer => pickle([0x7d, 0x28, ...items.flat(), 0x75])
    const storage = Buffer.alloc(16 * 4)
    for (let i = 0; i < 16; i++) storage.writeFloatLE(i, i * 4)
    writeFileSync(join(dir, 'past.bin'), storedZip([['past/data.pkl', state([...str('w'), ...tensor(2, [4, 4], [4, 1], 16)])], ['past/data/0', storage]]))
    expect((await refusal(join(dir, 'past.bin'))).message).toMatch(/past\.bin: tensor "w": is a view \(offset 2, shape \[4, 4\], stride \[4, 1\]\) that runs past its storage of 16 elements/)

    writeFileSync(join(dir, 'view.bin'), storedZip([['v/byteorder', Buffer.from('little')], ['v/data.pkl', state([...str('w'), ...tensor(1, [2, 3], [1, 5], 16)])], ['v/data/0', storage]]))
    await withSource(join(dir, 'view.bin'), async (source) => {
      // element [i, j] = storage[1 + i + 5j]
      expect(Array.from(await source.readFloat64('w'))).toEqual([1, 6, 11, 2, 7, 12])
    })

    // The same archive with ZIP64 records, as torch.save writes past 4 GiB.
    writeFileSync(join(dir, 'zip64.bin'), storedZip([['v/data.pkl', state([...str('w'), ...tensor(1, [2, 3], [1, 5], 16)])], ['v/data/0', storage]], { zip64: true }))
    // Python's zipfile reads it as ZIP64 too (so the hand-made archive is a real one).
    const python = spawnSync('/usr/bin/python3', ['-c', 'import sys, zipfile; i = zipfile.ZipFile(sys.argv[1]).getinfo("v/data/0"); print(i.extra[:2].hex(), i.file_size, i.header_offset)', join(dir, 'zip64.bin')], { encoding: 'utf8' })
    expect(python.stdout.trim(), python.stderr).toMatch(/^0100 64 \d+$/)
    await withSource(join(dir, 'zip64.bin'), async (source) => expect(Array.from(await source.readFloat64('w'))).toEqual([1, 6, 11, 2, 7, 12]))

    writeFileSync(join(dir, 'huge.bin'), storedZip([['h/data.pkl', state([...str('w'), ...tensor(0, [200, 200, 200], [0, 0, 0], 16)])], ['h/data/0', storage]]))
    expect((await refusal(join(dir, 'huge.bin'))).message).toMatch(/huge\.bin: tensor "w": is a view of shape \[200, 200, 200\] and stride \[0, 0, 0\] with more elements than its storage of 16/)

    writeFileSync(join(dir, 'big.bin'), storedZip([['b/byteorder', Buffer.from('big')], ['b/data.pkl', state()]]))
    expect((await refusal(join(dir, 'big.bin'))).message).toMatch(/big\.bin: was saved on a big-endian machine/)

    writeFileSync(join(dir, 'inst.bin'), storedZip([['i/data.pkl', pickle([0x69, ...Buffer.from('os\nsystem\n')])]]))
    expect((await refusal(join(dir, 'inst.bin'))).message).toMatch(/inst\.bin: i\/data\.pkl at byte 2: uses the pickle opcode INST \(0x69\), which a state dict never needs/)

    writeFileSync(join(dir, 'short.bin'), storedZip([['s/data.pkl', Buffer.from([0x80, 0x02, 0x58, 0xff, 0xff, 0xff, 0x7f])]]))
    expect((await refusal(join(dir, 'short.bin'))).message).toMatch(/needs 2147483647 more bytes but the pickle ends/)

    writeFileSync(join(dir, 'missing.bin'), storedZip([['m/data.pkl', state([...str('w'), ...tensor(0, [2], [1], 2)])]]))
    expect((await refusal(join(dir, 'missing.bin'))).message).toMatch(/tensor "w": its storage m\/data\/0 is missing from the archive/)

    writeFileSync(join(dir, 'junk.bin'), 'not a zip')
    expect((await refusal(join(dir, 'junk.bin'))).message).toMatch(/is not a PyTorch checkpoint/)
  })
})

describe('Hugging Face folders saved with safe_serialization=False', () => {
  it('a .bin-only folder and its sharded twin hold the tensors of the safetensors they were made from', async () => {
    const reference = await openSafetensors(join(tinyBert, 'model.safetensors'))
    try {
      for (const folder of ['bert', 'bert-sharded']) {
        await withSource(join(dir, folder), async (source) => {
          expect(source).toBeInstanceOf(TorchCheckpoint)
          expect(source.config?.modelType).toBe('bert')
          expect([...source.tensors.map((t) => t.name)].sort()).toEqual([...reference.tensors.map((t) => t.name)].sort())
          for (const t of reference.tensors) expect(Buffer.from(await source.readRaw(t.name)).equals(Buffer.from(await reference.readRaw(t.name)))).toBe(true)
        })
      }
    } finally {
      await reference.close()
    }
    expect(readdirSync(join(dir, 'bert-sharded')).filter((n) => n.endsWith('.bin'))).toHaveLength(3)
  })

  it('prefers safetensors when a folder has both', async () => {
    const both = join(dir, 'both')
    mkdirSync(both)
    for (const name of ['config.json', 'pytorch_model.bin']) copyFileSync(join(dir, 'bert', name), join(both, name))
    copyFileSync(join(tinyBert, 'model.safetensors'), join(both, 'model.safetensors'))
    await withSource(both, async (source) => expect(source).toBeInstanceOf(SafetensorsFile))
  })

  it('a merged export of the sharded .bin writes safetensors shards and an index transformers reads', async () => {
    const out = join(dir, 'merged-sharded')
    mkdirSync(out)
    await withSource(join(dir, 'bert-sharded'), async (source) => {
      const result = await writeMergedCheckpoint(source, join(dir, 'bert-sharded'), { lowRank: [], replaced: [] }, {}, out)
      expect(result.files.slice(0, 4)).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json'])
    })
    expect(readdirSync(out).filter((n) => /\.bin|pytorch/.test(n))).toEqual([])
    const index = JSON.parse(readFileSync(join(out, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> }
    const torchIndex = JSON.parse(readFileSync(join(dir, 'bert-sharded', 'pytorch_model.bin.index.json'), 'utf8')) as { weight_map: Record<string, string> }
    expect(index.weight_map).toEqual(Object.fromEntries(Object.entries(torchIndex.weight_map).map(([k, v]) => [k, v.replace('pytorch_model', 'model').replace('.bin', '.safetensors')])))
    await withSource(out, async (merged) => {
      const reference = await openSafetensors(join(tinyBert, 'model.safetensors'))
      try {
        for (const t of reference.tensors) expect(Buffer.from(await merged.readRaw(t.name)).equals(Buffer.from(await reference.readRaw(t.name)))).toBe(true)
        expect(merged.metadata).toEqual({ format: 'pt' })
      } finally {
        await reference.close()
      }
    })
  })
})

function siva(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin/siva.mjs'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

describe('the siva command on a .bin-only tiny BERT', () => {
  it('inspect gives σ equal to numpy’s SVD of the tensors torch saved', () => {
    const run = siva(['inspect', join(dir, 'bert'), '--json'])
    expect(run.status, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout) as InspectReport
    let compared = 0
    for (const t of report.tensors) {
      const reference = spectra[t.name]
      if (!reference) continue
      compared++
      expect(t.shape).toEqual(reference.shape)
      const sMax = reference.singularValues[0]!
      reference.singularValues.forEach((s, j) => expect(Math.abs(t.singularValues[j]! - s)).toBeLessThanOrEqual(1e-11 * sMax))
    }
    expect(compared).toBeGreaterThanOrEqual(12)
  }, 60_000)

  it('trains from it, and the merged export is safetensors', () => {
    const data = sentimentCsv(join(dir, 'sentiment.csv'), 24)
    const out = join(dir, 'run')
    const train = siva(['train', '--model', join(dir, 'bert'), '--data', data, '--task', 'classify', '--out', out, '--epochs', '1', '--max-steps', '2', '--batch-size', '8', '--lr', '0.05', '--seed', '5', '--backend', 'wasm', '--svd-cache', join(dir, 'svd'), '--quiet'])
    expect(train.stderr).toBe('')
    expect(train.status).toBe(0)
    expect(train.stdout).toMatch(/validation: loss [\d.]+, accuracy/)
    const merged = join(dir, 'merged')
    const exported = siva(['export', out, '--merged', merged, '--svd-cache', join(dir, 'svd'), '--quiet'])
    expect(exported.status, exported.stderr).toBe(0)
    const files = readdirSync(merged)
    expect(files).toContain('model.safetensors')
    expect(files.filter((n) => n.endsWith('.bin'))).toEqual([])
    // The real transformers loads it with no missing, unexpected or mismatched weight, and runs it.
    const check = runHfPython(join(hfrefDir, 'check_export.py'), [merged, '--task', 'classify', '--inputs', join(dir, 'inputs.npz')], { allowFailure: true })
    expect(check.status, check.stdout + check.stderr).toBe(0)
    expect(check.stdout.trim().split('\n').at(-1)).toBe('ok: merged BertForSequenceClassification')
  }, 120_000)
})

/** A zip of stored entries, laid out as torch.save lays it out (local headers, data, central directory, end record). */
function storedZip(entries: [string, Buffer][], options: { zip64?: boolean } = {}): Buffer {
  const parts: Buffer[] = []
  const central: Buffer[] = []
  let offset = 0
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt32LE(data.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(nameBytes.length, 26)
    parts.push(local, nameBytes, data)
    const c = Buffer.alloc(46)
    c.writeUInt32LE(0x02014b50, 0)
    c.writeUInt32LE(options.zip64 ? 0xffffffff : data.length, 20)
    c.writeUInt32LE(options.zip64 ? 0xffffffff : data.length, 24)
    c.writeUInt16LE(nameBytes.length, 28)
    c.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 42)
    // ZIP64 extended information: the 64-bit size, compressed size and local header offset.
    const extra = Buffer.alloc(options.zip64 ? 28 : 0)
    if (options.zip64) {
      c.writeUInt16LE(28, 30)
      extra.writeUInt16LE(1, 0)
      extra.writeUInt16LE(24, 2)
      extra.writeBigUInt64LE(BigInt(data.length), 4)
      extra.writeBigUInt64LE(BigInt(data.length), 12)
      extra.writeBigUInt64LE(BigInt(offset), 20)
    }
    central.push(c, nameBytes, extra)
    offset += 30 + nameBytes.length + data.length
  }
  const cd = Buffer.concat(central)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  if (!options.zip64) {
    end.writeUInt16LE(entries.length, 8)
    end.writeUInt16LE(entries.length, 10)
    end.writeUInt32LE(cd.length, 12)
    end.writeUInt32LE(offset, 16)
    return Buffer.concat([...parts, cd, end])
  }
  end.fill(0xff, 8, 20)
  const record = Buffer.alloc(56)
  record.writeUInt32LE(0x06064b50, 0)
  record.writeBigUInt64LE(44n, 4)
  record.writeBigUInt64LE(BigInt(entries.length), 24)
  record.writeBigUInt64LE(BigInt(entries.length), 32)
  record.writeBigUInt64LE(BigInt(cd.length), 40)
  record.writeBigUInt64LE(BigInt(offset), 48)
  const locator = Buffer.alloc(20)
  locator.writeUInt32LE(0x07064b50, 0)
  locator.writeBigUInt64LE(BigInt(offset + cd.length), 8)
  locator.writeUInt32LE(1, 16)
  return Buffer.concat([...parts, cd, record, locator, end])
}
