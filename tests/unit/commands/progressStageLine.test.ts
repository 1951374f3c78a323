import { describe, expect, it } from 'vitest'
import { ProgressLine, stageLine } from '../../../src/main/commands/progress'

/** A stand-in for stderr off a terminal: every line written, in order. */
function logStream(): { stream: NodeJS.WriteStream; lines: string[] } {
  const lines: string[] = []
  const stream = { isTTY: false, write: (text: string) => lines.push(...text.split('\n').filter(Boolean)) } as unknown as NodeJS.WriteStream
  return { stream, lines }
}

describe('the CLI progress line names each stage of a run', () => {
  it.each([
    [{ stage: 'data', done: 512, total: 2048, detail: 'encoding' }, 'siva train: preparing data 25 % (encoding)'],
    [{ stage: 'svd', done: 2, total: 4, detail: 'bert.encoder.layer.1.attention.self.query' }, 'siva train: computing SVDs 2/4 layers (bert.encoder.layer.1.attention.self.query)'],
    [{ stage: 'model', done: 1, total: 1, detail: 'bert.encoder.layer.0.attention.self.query' }, 'siva train: adding adapters 1/1 layer (bert.encoder.layer.0.attention.self.query)'],
    [{ stage: 'model', done: 0, total: 0 }, 'siva train: building the model'],
    [{ stage: 'training', done: 0, total: 114 }, 'siva train: training'],
    [{ stage: 'evaluating', done: 3, total: 12, detail: 'at step 114' }, 'siva train: evaluating 3/12 batches (at step 114)'],
    [{ stage: 'saving', done: 0, total: 1, detail: 'at step 114' }, 'siva train: saving checkpoint (at step 114)'],
    [{ stage: 'finishing', done: 0, total: 0, detail: 'the final evaluation, spectra and checkpoint' }, 'siva train: finishing (the final evaluation, spectra and checkpoint)']
  ] as const)('%j', (stage, line) => {
    expect(stageLine(stage)).toBe(line)
  })

  it("appends the SVDs' estimate of time left when the engine gives one", () => {
    expect(stageLine({ stage: 'svd', done: 3, total: 168, detail: 'model.layers.0.mlp.up_proj', etaSeconds: 3725 })).toBe('siva train: computing SVDs 3/168 layers (model.layers.0.mlp.up_proj) · ETA 1:02:05')
    // A negative or infinite estimate (a clock that went back) is left out rather than printed.
    expect(stageLine({ stage: 'svd', done: 3, total: 168, etaSeconds: -1 })).toBe('siva train: computing SVDs 3/168 layers')
  })

  it('keeps an unknown stage of a newer log readable', () => {
    expect(stageLine({ stage: 'exporting' as never, done: 1, total: 3 }, 'siva demo')).toBe('siva demo: exporting 1/3')
  })

  it('off a terminal writes at most a line a second, and the last held-back one on done()', () => {
    const { stream, lines } = logStream()
    const progress = new ProgressLine(stream)
    progress.update(stageLine({ stage: 'evaluating', done: 1, total: 12 }))
    progress.update(stageLine({ stage: 'evaluating', done: 2, total: 12 }))
    progress.update(stageLine({ stage: 'saving', done: 0, total: 1 }))
    expect(lines).toEqual(['siva train: evaluating 1/12 batches'])
    progress.done()
    expect(lines).toEqual(['siva train: evaluating 1/12 batches', 'siva train: saving checkpoint'])
  })
})
