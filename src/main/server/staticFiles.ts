import type { ServerResponse } from 'node:http'
import { extname, isAbsolute, join, normalize, relative } from 'node:path'
import { NotARegularFileError, openRegularFile } from '../engine/io/regularFile'

/**
 * The built renderer's files. A path outside the folder, or missing, is a 404 (the app is one page); a file
 * that opens but cannot be read is a 500 if nothing was sent yet, else the connection is cut. The file is
 * opened once and checked through its descriptor, so a file removed or replaced between the check and the
 * read cannot surprise a stream without an 'error' handler.
 */
const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2'
}

const pageHeaders = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  // The first page's address holds the token: never hand it on as a Referer.
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

/** Where a decoded URL path lies in `root`, or `undefined` if it would leave it. */
export function fileInRoot(root: string, decodedPath: string): string | undefined {
  const wanted = decodedPath === '/' || decodedPath === '' ? 'index.html' : normalize(decodedPath).replace(/^[/\\]+/, '')
  const file = join(root, wanted)
  const inside = relative(root, file)
  return inside === '' || inside.split(/[/\\]/)[0] === '..' || isAbsolute(inside) ? undefined : file
}

export async function serveFile(file: string, method: string, response: ServerResponse, refuse: (status: number, text: string) => void): Promise<void> {
  let handle
  try {
    // Opened without waiting (a FIFO would park a thread of the pool) and checked through the open handle.
    ;({ handle } = await openRegularFile(file))
  } catch (error) {
    if (error instanceof NotARegularFileError) return refuse(404, 'not found')
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EACCES' || code === 'EPERM') return refuse(403, 'forbidden')
    if (['ENOENT', 'ENOTDIR', 'EISDIR', 'ENAMETOOLONG', 'ELOOP', 'EINVAL'].includes(code ?? '')) return refuse(404, 'not found')
    return refuse(500, 'cannot read the file')
  }
  response.statusCode = 200
  response.setHeader('Content-Type', contentTypes[extname(file)] ?? 'application/octet-stream')
  for (const [name, value] of Object.entries(pageHeaders)) response.setHeader(name, value)
  if (method === 'HEAD') {
    await handle.close().catch(() => undefined)
    response.end()
    return
  }
  // Headers go out with the first chunk, so a read that fails at once still gets a proper 500.
  const stream = handle.createReadStream()
  stream.on('error', () => {
    if (!response.headersSent) refuse(500, 'cannot read the file')
    else response.destroy()
  })
  response.on('close', () => stream.destroy())
  stream.pipe(response)
}
