import { describe, expect, it } from 'vitest'
import { csvField, seriesTable, toCsv } from '@renderer/lib/chartCsv'
import { chartFileName } from '@renderer/lib/chartDownload'

describe('chart data as CSV', () => {
  it('quotes a field only when RFC 4180 needs it, doubling quotes', () => {
    expect(csvField('loss')).toBe('loss')
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('two\nlines')).toBe('"two\nlines"')
    expect(csvField('cr\r')).toBe('"cr\r"')
    expect(csvField(0.1 + 0.2)).toBe('0.30000000000000004')
    expect(csvField(undefined)).toBe('')
    expect(csvField(NaN)).toBe('')
  })

  it('writes records with CRLF, the last one too', () => {
    expect(toCsv({ header: ['step', 'smoothed (0.9)', 'name, with comma'], rows: [[1, 0.5, 'x'], [2, undefined, 'say "y"']] })).toBe(
      'step,smoothed (0.9),"name, with comma"\r\n1,0.5,x\r\n2,,"say ""y"""\r\n'
    )
  })

  it('joins series on their x, leaving gaps empty, with extra columns from x', () => {
    const table = seriesTable(
      'step',
      [
        {
          name: 'loss',
          points: [
            [1, 0.8],
            [2, 0.6],
            [3, 0.5]
          ]
        },
        { name: 'accuracy', points: [[2, 0.75]] }
      ],
      [{ name: 'double', value: (x) => x * 2 }]
    )
    expect(toCsv(table)).toBe('step,double,loss,accuracy\r\n1,2,0.8,\r\n2,4,0.6,0.75\r\n3,6,0.5,\r\n')
  })

  it('names files with safe characters only', () => {
    expect(chartFileName('run-1', 'spectrum-bert.encoder.layer.0/attention q')).toBe('run-1-spectrum-bert.encoder.layer.0-attention-q')
    expect(chartFileName(undefined, 'loss')).toBe('loss')
  })
})
