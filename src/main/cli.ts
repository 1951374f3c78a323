import { CliUsageError } from './commands/errors'
import pkg from '../../package.json' with { type: 'json' }

const usage = `SiVA Studio ${pkg.version} — Singular Value Adaptation, headless

usage: siva <command> [options]

commands:
  inspect PATH     singular-value spectra of every 2-D weight in a checkpoint
                   (PATH: a Hugging Face checkpoint folder, a .safetensors file, a tfjs model.json,
                   or a Hub id org/name[@REVISION], downloaded into the Hugging Face cache if missing)
  download ID      fetch a Hugging Face Hub model (org/name[@REVISION]) into the Hugging Face cache,
                   with progress and resume; prints its snapshot folder
  data check       validate a training file (CSV, TSV, JSONL, Parquet, .txt, dataset and image folders) row by row
  train            fine-tune a checkpoint with SiVA (or svdiff, topk, lora, full, head)
  export RUN_DIR   write a run's merged model, adapter, PEFT LoRA adapter and report
  generate         continue a prompt greedily with a model, and with a run's adapted model beside it
  serve            the app in a browser, for a machine without a screen (token-protected)
  doctor           which TensorFlow.js backend trains here (GPU, CPU, WebAssembly) and why
  demo             the bundled demo end to end: inspect, train SiVA against a linear probe, export

Run 'siva <command> --help' for a command's options.`

/** Entry point of the `siva` command; returns the process exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  // Each command is loaded when chosen: loading all of them (the whole engine, tfjs, the tokenizers) took
  // about 2 s before `siva inspect` or `siva download` could start; now they start in under 1 s.
  try {
    switch (command) {
      case 'inspect':
        return await (await import('./commands/inspect')).inspectCommand(rest)
      case 'train':
        return await (await import('./commands/train')).trainCommand(rest)
      case 'export':
        return await (await import('./commands/export')).exportCommand(rest)
      case 'generate':
        return await (await import('./commands/generate')).generateCommand(rest)
      case 'serve':
        return await (await import('./commands/serve')).serveCommand(rest)
      case 'doctor':
        return await (await import('./commands/doctor')).doctorCommand(rest)
      case 'demo':
        return await (await import('./commands/demo')).demoCommand(rest)
      case 'download':
        return await (await import('./commands/download')).downloadCommand(rest)
      case 'data':
        if (rest[0] === 'check') return await (await import('./commands/dataCheck')).dataCheckCommand(rest.slice(1))
        throw new CliUsageError(`unknown data command '${rest[0] ?? ''}' (try 'siva data check --help')`)
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(`${usage}\n`)
        return command === undefined ? 2 : 0
      case '--version':
      case '-v':
        process.stdout.write(`${pkg.version}\n`)
        return 0
      default:
        throw new CliUsageError(`unknown command '${command}' (try 'siva --help')`)
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    process.stderr.write(`siva: error: ${message}\n`)
    return error instanceof CliUsageError ? 2 : 1
  }
}
