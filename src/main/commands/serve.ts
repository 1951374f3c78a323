import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isLoopback, startServer } from '../server/server'
import { SivaBackend } from '../services/backend'
import { demoForApp } from '../services/demoAssets'
import { commonFlags, parseCommandArgs, printedHelp, svdCacheFolder } from './args'
import { CliUsageError } from './errors'

const help = `usage: siva serve [--port N] [--host 127.0.0.1] [--runs-dir DIR] [--renderer DIR]

Serves SiVA Studio to a browser: the same screens and the same back end as the desktop app, for a GPU
machine without a screen. Prints the address to open, with a random token every request must carry.

  --port N          port to listen on (default 7860; 0 picks a free one)
  --host H          address to listen on (default 127.0.0.1: this machine only). Anything else lets other
                    machines reach it: keep the loopback default and use an SSH tunnel instead, e.g.
                      ssh -L 7860:127.0.0.1:7860 gpu-box   then open the printed address locally
                    Requests must name this address in their Host header (on loopback also localhost,
                    127.0.0.1 or [::1]); others get 421. Bound to 0.0.0.0 or ::, any name is accepted.
  --runs-dir DIR    where runs are kept (default ~/.local/share/siva-studio/runs)
  --svd-cache DIR   where SVDs are kept (default ~/.cache/siva-studio/svd)
  --renderer DIR    the built renderer (default: the one built beside this program, 'npm run build')
  --token T         use this token instead of a random one (for scripts; keep it secret)`

/** How long Ctrl-C waits for runs to stop with a checkpoint before their workers are terminated. */
const stopTimeoutMs = 20_000

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('serve', {
    args: argv,
    allowPositionals: false,
    options: {
      port: { type: 'string', default: '7860' },
      host: { type: 'string', default: '127.0.0.1' },
      'runs-dir': { type: 'string' },
      'svd-cache': { type: 'string' },
      renderer: { type: 'string' },
      token: { type: 'string' },
      ...commonFlags
    }
  })
  if (printedHelp(values, help)) return 0
  const port = Number(values.port)
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) throw new CliUsageError(`--port must be a port number, got '${values.port}'`)
  if (values.token !== undefined && !/^[A-Za-z0-9_-]{16,}$/.test(values.token)) throw new CliUsageError('--token must be at least 16 letters, digits, - or _')
  const runsDir = values['runs-dir'] ? resolve(values['runs-dir']) : join(process.env['XDG_DATA_HOME'] ?? join(homedir(), '.local', 'share'), 'siva-studio', 'runs')
  const demo = demoForApp()
  const backend = new SivaBackend({ runsDir, svdCacheDir: svdCacheFolder(values['svd-cache']), ...(demo && { demo }) })
  const server = await startServer({ host: values.host, port, rendererDir: values.renderer ? resolve(values.renderer) : defaultRenderer(), backend, ...(values.token && { token: values.token }) }).catch(async (error: unknown) => {
    await backend.close()
    throw error
  })
  if (!isLoopback(values.host)) {
    process.stderr.write(`siva serve: warning: listening on ${values.host}, reachable from other machines. Anyone with the token controls training and can read and write files as you. Prefer --host 127.0.0.1 and an SSH tunnel.\n`)
  }
  // Defence in depth: a promise that rejects with nobody listening leaves nothing half-done in this thread,
  // so it is reported and the server keeps its runs going (Node's default would end the process). Client
  // input never gets here (tests/integration/serve-fuzz.test.ts checks that this line is never printed).
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`siva serve: internal error, still serving: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`)
  })
  process.stdout.write(`SiVA Studio is serving at ${server.url}\n`)
  if (!values.quiet) process.stderr.write(`siva serve: runs in ${runsDir}; Ctrl-C to stop\n`)
  await new Promise<void>((done) => {
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
  })
  // As the desktop app does on quit: runs in training stop at a step boundary with a checkpoint (bounded),
  // so they read as cancelled and Resume continues them, rather than losing the steps since their last one.
  if (!values.quiet) process.stderr.write('siva serve: stopping runs with a checkpoint…\n')
  await server.close()
  await backend.stopRuns(stopTimeoutMs)
  await backend.close()
  return 0
}

/** The renderer built beside this module: out/renderer from the bundle (out/main), or from the repository when run from source. */
function defaultRenderer(): string {
  const here = fileURLToPath(new URL('.', import.meta.url))
  for (const candidate of [join(here, '../renderer'), join(here, '../../../out/renderer')]) if (existsSync(join(candidate, 'index.html'))) return resolve(candidate)
  return resolve(join(here, '../../../out/renderer'))
}
