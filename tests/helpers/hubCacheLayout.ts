import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { runHfPython } from './hfref'

/**
 * A Hugging Face cache built by hand, file by file, as huggingface_hub 0.24's hf_hub_download leaves it:
 * the real Hub cannot be reached from this machine (no network in tests), so the layout is made here and
 * then checked against huggingface_hub's own scanner (scanCacheWithHuggingfaceHub). Blobs are named as the
 * Hub's etags name them: the sha256 of an LFS file (weights), the git blob sha1 of a small one; every
 * snapshot file is a relative link to ../../blobs/<etag>; refs/<name> holds the commit, no newline.
 */
export interface LayoutRevision {
  commit: string
  /** refs pointing at it: main, v1, pr/1. */
  refs?: string[]
  /** File name in the snapshot → its content (a Buffer) or a file to copy. */
  files: Record<string, Buffer | string>
}

const lfs = /\.(safetensors|bin|h5|onnx|msgpack)$/

export function etagOf(name: string, bytes: Buffer): string {
  if (lfs.test(name)) return createHash('sha256').update(bytes).digest('hex')
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex')
}

/** Writes models--{id with / as --} into `cache`; returns the repo folder. */
export function writeCachedModel(cache: string, id: string, revisions: LayoutRevision[]): string {
  const repo = join(cache, `models--${id.split('/').join('--')}`)
  mkdirSync(join(repo, 'blobs'), { recursive: true })
  for (const revision of revisions) {
    const snapshot = join(repo, 'snapshots', revision.commit)
    for (const [name, content] of Object.entries(revision.files)) {
      const bytes = typeof content === 'string' ? readFileSync(content) : content
      const blob = join(repo, 'blobs', etagOf(name, bytes))
      if (!existsSync(blob)) {
        if (typeof content === 'string') copyFileSync(content, blob)
        else writeFileSync(blob, bytes)
      }
      const link = join(snapshot, name)
      mkdirSync(dirname(link), { recursive: true })
      symlinkSync(relative(dirname(link), blob), link)
    }
    mkdirSync(snapshot, { recursive: true })
    for (const ref of revision.refs ?? []) {
      const file = join(repo, 'refs', ref)
      mkdirSync(dirname(file), { recursive: true })
      writeFileSync(file, revision.commit)
    }
  }
  return repo
}

/** A 40-hex commit made from a word, so a test reads which is which. */
export function commitOf(word: string): string {
  return createHash('sha1').update(word).digest('hex')
}

export interface ScannedRepo {
  repo_id: string
  repo_type: string
  size_on_disk: number
  revisions: { commit_hash: string; refs: string[]; files: string[] }[]
}

/** huggingface_hub.scan_cache_dir(cache), run by the vendored huggingface_hub 0.24.5 in hfref's Python. */
export function scanCacheWithHuggingfaceHub(cache: string): { repos: ScannedRepo[]; warnings: string[] } {
  const script = `
import json, sys
from huggingface_hub import scan_cache_dir
info = scan_cache_dir(sys.argv[1])
print(json.dumps({
  "repos": sorted([{
    "repo_id": r.repo_id, "repo_type": r.repo_type, "size_on_disk": r.size_on_disk,
    "revisions": sorted([{"commit_hash": v.commit_hash, "refs": sorted(v.refs), "files": sorted(f.file_name for f in v.files)} for v in r.revisions], key=lambda v: v["commit_hash"]),
  } for r in info.repos], key=lambda r: r["repo_id"]),
  "warnings": [str(w) for w in info.warnings],
}))
`
  const result = runHfPython('-', [cache], { input: script })
  return JSON.parse(result.stdout) as { repos: ScannedRepo[]; warnings: string[] }
}
