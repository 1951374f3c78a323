import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { previewTextExamples } from '../../../src/main/engine/data'
import { tempDir } from '../../helpers/paths'

/**
 * The preview is what `siva data check` prints and the Data step shows, a few rows: a row of megabytes
 * must not travel whole to the screen (nor through the server's socket), and short rows stay as they are.
 */
describe('previewTextExamples', () => {
  it('cuts a long text to its first characters and says how long it was; short rows are whole', async () => {
    const file = join(tempDir('preview'), 'rows.csv')
    const long = `${'word '.repeat(40_000)}end`
    // A long text pair and an astral character at the cut: the cut never splits a code point.
    const astral = `${'x'.repeat(1999)}😀${'y'.repeat(5000)}`
    writeFileSync(file, `text,text_pair,label\n"${long}",short pair,pos\nfine,"${astral}",neg\n`)
    const rows = await previewTextExamples(file, { task: 'classification', columns: { text: 'text', textPair: 'text_pair' }, maxLength: 128 }, 8)
    expect(rows).toHaveLength(2)
    expect(rows[0]!.text).toBe(`${long.slice(0, 2000)}…`)
    expect(rows[0]!.textLength).toBe(long.length)
    expect(rows[0]!.textPair).toBe('short pair')
    expect(rows[0]!.textPairLength).toBeUndefined()
    expect(rows[1]!.text).toBe('fine')
    expect(rows[1]!.textLength).toBeUndefined()
    expect(rows[1]!.textPair).toBe(`${'x'.repeat(1999)}😀…`)
    expect(rows[1]!.textPairLength).toBe(astral.length)
  })
})
