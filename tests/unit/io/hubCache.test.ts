import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { openCheckpoint } from '../../../src/main/engine/io'
import { hubCacheFolder, hubIdProblem, hubOffline, listCachedModels, parseHubId, resolveModelLocation } from '../../../src/main/engine/io/hubCache'
import { RunAccess } from '../../../src/main/workers/gpuHostAccess'
import { hfPython, hfrefDir, runHfPython } from '../../helpers/hfref'
import { commitOf, etagOf, scanCacheWithHuggingfaceHub, writeCachedModel } from '../../helpers/hubCacheLayout'
import { repoRoot, tempDir } from '../../helpers/paths'

// The Hugging Face Hub cannot be reached from this machine (tests run without network), so every cache here
// is built by hand in a temp folder, file by file as huggingface_hub's hf_hub_download lays it out, and then
// read back by huggingface_hub's own scan_cache_dir (vendored 0.24.5, ../shared/hfref) to show the layout is
// the real one and not a guess; the environment rules are checked against huggingface_hub.constants too.
const tinyBert = join(repoRoot, 'tests/fixtures/models/tiny-bert')
const sharded = join(repoRoot, 'tests/fixtures/models/tiny-bert-bf16-sharded')
const bertFiles = Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => [f, join(tinyBert, f)]))
const shardedFiles = Object.fromEntries(['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json'].map((f) => [f, join(sharded, f)]))
const main = commitOf('main')
const v1 = commitOf('v1')
const loose = commitOf('loose')

let cache: string
let cwd: string
let env: Record<string, string>

beforeAll(() => {
  const dir = tempDir('hub-cache')
  cache = join(dir, 'hub')
  cwd = join(dir, 'work')
  mkdirSync(cwd, { recursive: true })
  env = { HF_HUB_CACHE: cache }
  // Two revisions sharing their blobs but one; a tag, a PR ref, and a snapshot no ref names.
  writeCachedModel(cache, 'acme/tiny-bert', [
    { commit: main, refs: ['main'], files: bertFiles },
    { commit: v1, refs: ['v1', 'pr/1'], files: { ...bertFiles, 'config.json': Buffer.from(readFileSync(join(tinyBert, 'config.json'), 'utf8').replace('{', '{"_v1": true,')) } },
    { commit: loose, files: bertFiles }
  ])
  writeCachedModel(cache, 'acme/sharded', [{ commit: main, refs: ['main'], files: shardedFiles }])
  // A canonical id without an organisation, as gpt2 or bert-base-uncased are.
  writeCachedModel(cache, 'tinybert', [{ commit: main, refs: ['main'], files: bertFiles }])
  // Incomplete snapshots: no config.json; a shard the index lists but the snapshot lacks; a link whose blob is gone.
  writeCachedModel(cache, 'acme/no-config', [{ commit: main, refs: ['main'], files: { 'model.safetensors': bertFiles['model.safetensors']! } }])
  const { 'model-00002-of-00002.safetensors': _second, ...oneShard } = shardedFiles
  writeCachedModel(cache, 'acme/half-sharded', [{ commit: main, refs: ['main'], files: oneShard }])
  const broken = writeCachedModel(cache, 'acme/broken-blob', [{ commit: main, refs: ['main'], files: bertFiles }])
  rmSync(join(broken, 'blobs', etagOf('model.safetensors', readFileSync(bertFiles['model.safetensors']!))))
})

describe('the cache layout', () => {
  it('is the one huggingface_hub scans: the same repos, revisions, refs, files and size on disk', async () => {
    // scan_cache_dir refuses a repo with a broken link (CorruptedCacheException, as a warning): scan a copy without it.
    const clean = join(tempDir('hub-cache-clean'), 'hub')
    writeCachedModel(clean, 'acme/tiny-bert', [
      { commit: main, refs: ['main'], files: bertFiles },
      { commit: v1, refs: ['v1', 'pr/1'], files: { ...bertFiles, 'config.json': Buffer.from('{"model_type": "bert"}') } },
      { commit: loose, files: bertFiles }
    ])
    writeCachedModel(clean, 'gpt2', [{ commit: main, refs: ['main'], files: shardedFiles }])
    const scanned = scanCacheWithHuggingfaceHub(clean)
    expect(scanned.warnings).toEqual([])
    const ours = await listCachedModels({ HF_HUB_CACHE: clean })
    expect(ours.map((m) => m.id)).toEqual(scanned.repos.map((r) => r.repo_id))
    expect(scanned.repos.map((r) => r.repo_id)).toEqual(['acme/tiny-bert', 'gpt2'])
    for (const [i, repo] of scanned.repos.entries()) {
      expect(repo.repo_type).toBe('model')
      expect(ours[i]!.sizeBytes).toBe(repo.size_on_disk)
      const revisions = [...ours[i]!.revisions].sort((a, b) => a.commit.localeCompare(b.commit))
      expect(revisions.map((r) => ({ commit_hash: r.commit, refs: r.refs }))).toEqual(repo.revisions.map((r) => ({ commit_hash: r.commit_hash, refs: r.refs })))
    }
    // Distinct blobs counted once: tiny-bert's three snapshots share all but one config.json.
    const bytes = Object.values(bertFiles).reduce((n, f) => n + readFileSync(f).length, 0)
    expect(ours[0]!.sizeBytes).toBe(bytes + Buffer.byteLength('{"model_type": "bert"}'))
    expect(scanned.repos[0]!.revisions.find((r) => r.commit_hash === v1)!.refs).toEqual(['pr/1', 'v1'])
  })

  it('lists every model with a snapshot: refs, commit, whether config.json and the weights are there', async () => {
    const models = await listCachedModels(env)
    expect(models.map((m) => m.id)).toEqual(['acme/broken-blob', 'acme/half-sharded', 'acme/no-config', 'acme/sharded', 'acme/tiny-bert', 'tinybert'])
    const bert = models.find((m) => m.id === 'acme/tiny-bert')!
    expect(bert.revisions.map((r) => r.commit).sort()).toEqual([main, v1, loose].sort())
    expect(bert.revisions.find((r) => r.commit === loose)!.refs).toEqual([])
    expect(bert.revisions.every((r) => r.hasConfig && r.hasWeights && r.problem === undefined)).toBe(true)
    const noConfig = models.find((m) => m.id === 'acme/no-config')!.revisions[0]!
    expect(noConfig).toMatchObject({ hasConfig: false, hasWeights: true })
    expect(noConfig.problem).toContain('config.json')
    const half = models.find((m) => m.id === 'acme/half-sharded')!.revisions[0]!
    expect(half).toMatchObject({ hasConfig: true, hasWeights: false })
    expect(half.problem).toContain('model-00002-of-00002.safetensors')
    expect(models.find((m) => m.id === 'acme/broken-blob')!.revisions[0]!.problem).toContain('blob is missing')
  })

  it('an empty or absent cache lists nothing', async () => {
    expect(await listCachedModels({ HF_HUB_CACHE: join(cwd, 'nowhere') })).toEqual([])
  })
})

describe('the environment, as huggingface_hub.constants reads it', () => {
  const pythonSays = (vars: Record<string, string>): { cache: string; offline: boolean } => {
    const script = 'import json\nfrom huggingface_hub import constants\nprint(json.dumps({"cache": constants.HF_HUB_CACHE, "offline": constants.HF_HUB_OFFLINE}))'
    // Only the variables of each case, the vendored packages and HOME: nothing of this process's own Hugging Face settings.
    const result = spawnSync(hfPython, ['-B', '-c', script], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin', PYTHONPATH: join(hfrefDir, 'vendor'), PYTHONDONTWRITEBYTECODE: '1', HOME: '/home/someone', ...vars } })
    if (result.status !== 0) throw new Error(result.stderr)
    return JSON.parse(result.stdout) as { cache: string; offline: boolean }
  }

  it('finds the cache folder as huggingface_hub does', () => {
    const cases: Record<string, string>[] = [
      { HF_HUB_CACHE: '/x/hub-cache' },
      { HUGGINGFACE_HUB_CACHE: '/x/old-cache' },
      { HF_HUB_CACHE: '/x/new', HUGGINGFACE_HUB_CACHE: '/x/old' },
      { HF_HOME: '/x/hf-home' },
      { XDG_CACHE_HOME: '/x/xdg' },
      {}
    ]
    for (const vars of cases) {
      const python = pythonSays(vars)
      const ours = hubCacheFolder({ ...vars })
      // The default lies under the home folder: compare the part after it.
      if (Object.keys(vars).length === 0) expect(ours.endsWith('/.cache/huggingface/hub') && python.cache === '/home/someone/.cache/huggingface/hub').toBe(true)
      else expect(ours).toBe(python.cache)
    }
  })

  it('reads HF_HUB_OFFLINE (else TRANSFORMERS_OFFLINE) as huggingface_hub does', () => {
    const cases: Record<string, string>[] = [{ HF_HUB_OFFLINE: '1' }, { HF_HUB_OFFLINE: 'true' }, { HF_HUB_OFFLINE: 'YES' }, { HF_HUB_OFFLINE: 'On' }, { HF_HUB_OFFLINE: '0' }, { HF_HUB_OFFLINE: 'no' }, { TRANSFORMERS_OFFLINE: '1' }, { HF_HUB_OFFLINE: '0', TRANSFORMERS_OFFLINE: '1' }, {}]
    const answers = cases.map((vars) => [hubOffline(vars), pythonSays(vars).offline])
    for (const [ours, python] of answers) expect(ours).toBe(python)
    expect(answers.map(([ours]) => ours)).toEqual([true, true, true, true, false, false, true, false, false])
  })
})

describe('Hub ids', () => {
  it('accepts the ids huggingface_hub validates, and refuses the others (plus paths with more than one /)', () => {
    const ids = ['gpt2', 'bert-base-uncased', 'acme/tiny-bert', 'Foo-BAR_foo.bar123', 'org/model.v2', 'a/b/c', '../x', 'org/na me', 'org/-x', 'org/x.', 'foo--bar', 'a..b', 'x.git', `org/${'n'.repeat(97)}`, `org/${'n'.repeat(96)}`, '', 'org/']
    const script = 'import json, sys\nfrom huggingface_hub.utils import validate_repo_id\nout = []\nfor i in json.load(sys.stdin):\n    try:\n        validate_repo_id(i); out.append(True)\n    except Exception:\n        out.append(False)\nprint(json.dumps(out))'
    const valid = JSON.parse(runHfPython('-c', [script.replace('json.load(sys.stdin)', 'json.loads(sys.argv[1])'), JSON.stringify(ids)]).stdout) as boolean[]
    expect(ids.map((id) => parseHubId(id) !== undefined)).toEqual(valid)
    expect(valid.slice(0, 5)).toEqual([true, true, true, true, true])
  })

  it('takes a revision after @: a branch, tag, refs/pr path or commit; refuses control characters and the overlong', () => {
    expect(parseHubId('acme/tiny-bert@v1')).toEqual({ id: 'acme/tiny-bert', revision: 'v1' })
    expect(parseHubId(`gpt2@${main}`)).toEqual({ id: 'gpt2', revision: main })
    expect(parseHubId('acme/x@refs/pr/1')).toEqual({ id: 'acme/x', revision: 'refs/pr/1' })
    for (const bad of ['acme/x@', 'acme/x@../main', 'acme/x@a b', 'acme\u0000/x', 'acme/x\u0000', `acme/x@${'r'.repeat(300)}`, 'x'.repeat(5000)]) {
      expect(parseHubId(bad), bad).toBeUndefined()
      expect(hubIdProblem(bad)).toBeTypeOf('string')
    }
  })
})

describe('resolving a model argument', () => {
  const at = (text: string, more: Record<string, string> = {}) => resolveModelLocation(text, { cwd, env: { ...env, ...more } })
  const snapshot = (id: string, commit: string): string => join(cache, `models--${id.split('/').join('--')}`, 'snapshots', commit)

  it('org/name is its main snapshot; @tag, @pr ref and @commit theirs; the files read through the links are the folder’s', async () => {
    expect(await at('acme/tiny-bert')).toMatchObject({ path: snapshot('acme/tiny-bert', main), hub: { id: 'acme/tiny-bert', revision: 'main', commit: main } })
    expect((await at('acme/tiny-bert@main')).path).toBe(snapshot('acme/tiny-bert', main))
    expect((await at('acme/tiny-bert@v1')).path).toBe(snapshot('acme/tiny-bert', v1))
    expect((await at('acme/tiny-bert@pr/1')).path).toBe(snapshot('acme/tiny-bert', v1))
    expect((await at(`acme/tiny-bert@${loose}`)).path).toBe(snapshot('acme/tiny-bert', loose))
    const viaHub = await openCheckpoint((await at('acme/tiny-bert')).path)
    const folder = await openCheckpoint(tinyBert)
    try {
      expect(viaHub.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(folder.tensors.map((t) => [t.name, t.dtype, t.shape]))
      const name = folder.tensors.find((t) => t.shape.length === 2)!.name
      expect(Buffer.from(await viaHub.readRaw(name)).equals(Buffer.from(await folder.readRaw(name)))).toBe(true)
      expect(viaHub.config?.modelType).toBe('bert')
    } finally {
      await viaHub.close()
      await folder.close()
    }
  })

  it('a sharded snapshot opens with all its shards; HF_HOME/hub is the cache when HF_HUB_CACHE is not set', async () => {
    const home = tempDir('hub-home')
    writeCachedModel(join(home, 'hub'), 'acme/sharded', [{ commit: main, refs: ['main'], files: shardedFiles }])
    const location = await resolveModelLocation('acme/sharded', { cwd, env: { HF_HOME: home } })
    expect(location.path).toBe(join(home, 'hub', 'models--acme--sharded', 'snapshots', main))
    const source = await openCheckpoint(location.path)
    try {
      expect(source.tensors.length).toBeGreaterThan(10)
    } finally {
      await source.close()
    }
  })

  it('a bare name is an id when the cache holds models--name; otherwise the error names the folder and the cache', async () => {
    expect((await at('tinybert')).path).toBe(snapshot('tinybert', main))
    await expect(at('gpt2')).rejects.toThrow(/gpt2: no such file or folder .*and no Hugging Face model gpt2 in the cache/)
  })

  it('a path that exists wins over an id of the same name', async () => {
    const folder = join(cwd, 'acme', 'tiny-bert')
    mkdirSync(folder, { recursive: true })
    try {
      expect(await at('acme/tiny-bert')).toEqual({ path: folder })
    } finally {
      rmSync(join(cwd, 'acme'), { recursive: true })
    }
  })

  it('hostile ids are refused as ids: paths, found only if they exist', async () => {
    for (const text of ['../x', 'a/b/c', 'org/na me', 'acme/tiny-bert\u0000', `acme/${'n'.repeat(200)}`, './acme/tiny-bert', '/acme/tiny-bert']) {
      const location = await at(text)
      expect(location.hub, text).toBeUndefined()
    }
    mkdirSync(join(cwd, 'a', 'b', 'c'), { recursive: true })
    expect(await at('a/b/c')).toEqual({ path: join(cwd, 'a/b/c') })
    // A NUL never reaches the file system as part of a name.
    expect((await at('acme/tiny-bert\u0000')).path).toBe(join(cwd, 'acme/tiny-bert\u0000'))
  })

  it('a missing model, revision or file: the message names the id, revision, snapshot and file, and how to fill the cache', async () => {
    await expect(at('acme/absent')).rejects.toThrow(/acme\/absent: no such file or folder .*the Hugging Face model acme\/absent is not in the cache .*download it with 'siva download acme\/absent' \(or 'huggingface-cli download acme\/absent'; both fill the same cache\)/)
    await expect(at('acme/tiny-bert@v9')).rejects.toThrow(/acme\/tiny-bert@v9: the revision v9 is not in the cache .*refs: main, pr\/1, v1.*huggingface-cli download acme\/tiny-bert --revision v9/)
    await expect(at(`acme/tiny-bert@${commitOf('gone')}`)).rejects.toThrow(`no folder ${snapshot('acme/tiny-bert', commitOf('gone'))}`)
    const noConfig = at('acme/no-config')
    await expect(noConfig).rejects.toThrow(`acme/no-config@main (commit ${main}): the snapshot ${snapshot('acme/no-config', main)} is missing config.json`)
    await expect(at('acme/half-sharded')).rejects.toThrow(/is missing model-00002-of-00002\.safetensors, a shard model\.safetensors\.index\.json lists/)
    await expect(at('acme/broken-blob')).rejects.toThrow(/is missing model\.safetensors \(its blob is missing/)
    // Only the tokenizer wanted (data check): a snapshot without config.json still resolves.
    expect((await resolveModelLocation('acme/no-config', { cwd, env, checkFiles: false })).path).toBe(snapshot('acme/no-config', main))
  })

  it('offline (HF_HUB_OFFLINE=1, true, yes, on) the message says so instead of pointing at a download here', async () => {
    for (const value of ['1', 'true', 'YES', 'on']) {
      const error = await at('acme/absent', { HF_HUB_OFFLINE: value }).catch((e: Error) => e)
      expect((error as Error).message).toContain('HF_HUB_OFFLINE is set, so only the cache is looked at')
      expect((error as Error).message).not.toContain('download it with')
    }
    expect((await at('acme/tiny-bert', { HF_HUB_OFFLINE: '1' })).path).toBe(snapshot('acme/tiny-bert', main))
  })

  it("the GPU training window may read a snapshot's blobs, and nothing else of the cache", async () => {
    const folder = snapshot('acme/tiny-bert', main)
    const runDir = join(tempDir('hub-access'), 'run')
    const access = new RunAccess({ runDir, model: folder, dataFiles: [] })
    const blob = realpathSync(join(folder, 'model.safetensors'))
    expect(blob).toContain(join('models--acme--tiny-bert', 'blobs'))
    expect(await access.readable(join(folder, 'model.safetensors'))).toBe(blob)
    const other = join(cache, 'models--acme--sharded', 'snapshots', main, 'config.json')
    await expect(access.readable(other)).rejects.toThrow(/may not read outside the run, model and data/)
    writeFileSync(join(cwd, 'elsewhere.txt'), 'x')
    await expect(access.readable(join(cwd, 'elsewhere.txt'))).rejects.toThrow(/may not read/)
  })
})
