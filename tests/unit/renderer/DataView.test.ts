// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import type { AppInfo, DataCheckResult, DataCheckTokens } from '@shared/api'
import type { ChartOption } from '@renderer/charts/echarts'
import DataView from '@renderer/views/DataView.vue'
import { useAppStore } from '@renderer/stores/app'
import { FakeApi, setApi } from './fakeApi'

vi.mock('@renderer/api', () => import('./fakeApi'))

const result: DataCheckResult = {
  file: '/data/train.csv',
  task: 'classify',
  rows: 120,
  usable: false,
  problems: [
    { severity: 'error', code: 'field-count', message: 'row has 3 fields, the header 2', row: 17 },
    { severity: 'warning', code: 'empty-text', message: 'empty text', row: 42, column: 'sentence' }
  ],
  moreProblems: 5,
  columns: { available: ['sentence', 'label'], used: { text: 'sentence', label: 'label' } },
  classes: [
    { label: 'neg', count: 60 },
    { label: 'pos', count: 58 }
  ],
  preview: [{ row: 2, text: 'a fine film', label: 'pos', tokens: 5 }]
}

describe('the Data view', () => {
  it('checks the file and lists problems with their row numbers, the preview and the classes', async () => {
    const api = setApi(new FakeApi({ checkData: () => result }))
    const w = mount(DataView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })
    expect(w.get('label[for="data-path"]').text()).toBe('Training data')
    await w.get('[data-testid="data-path"]').setValue('/data/train.csv')
    await w.get('[data-testid="data-task"]').setValue('classify')
    await w.get('[data-testid="data-column-text"]').setValue('sentence')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(api.callsOf('checkData')).toEqual([{ path: '/data/train.csv', task: 'classify', columns: { text: 'sentence' } }])
    const problems = w.get('[data-testid="data-problems"]')
    expect(problems.findAll('[data-testid="problem-row"]').map((c) => c.text())).toEqual(['17', '42'])
    expect(problems.text()).toContain('row has 3 fields')
    expect(w.text()).toContain('…and 5 more.')
    expect(w.get('[data-testid="data-status"]').text()).toContain('cannot be used')
    expect(w.get('[data-testid="data-preview"]').text()).toContain('a fine film')
    expect(w.get('[data-testid="data-classes"]').text()).toContain('pos')
  })

  it('summarises the validation file too: its rows, classes, the label training never has and its problems', async () => {
    const checked: DataCheckResult = {
      ...result,
      rows: 4,
      usable: false,
      problems: [],
      moreProblems: 0,
      validation: {
        file: '/data/dev.csv',
        rows: 4,
        usable: false,
        problems: [{ severity: 'error', code: 'label-unseen', message: 'dev.csv, row 4: label "neutral" is not among the training labels (1 row)', row: 4, column: 'label' }],
        moreProblems: 0,
        classes: [
          { label: 'neg', count: 2 },
          { label: 'neutral', count: 1 },
          { label: 'pos', count: 1 }
        ],
        unseen: [{ label: 'neutral', count: 1 }]
      }
    }
    const api = setApi(new FakeApi({ checkData: () => checked }))
    const w = mount(DataView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })
    await w.get('[data-testid="data-path"]').setValue('/data/train.csv')
    await w.get('[data-testid="data-validation"]').setValue('/data/dev.csv')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(api.callsOf('checkData')).toEqual([{ path: '/data/train.csv', task: 'classify', validation: '/data/dev.csv' }])
    expect(w.get('[data-testid="data-status"]').text().replace(/\s+/g, ' ')).toBe('4 rows · validation 4 rows · the validation file cannot be used as it is · 1 error')
    const summary = w.get('[data-testid="data-validation-summary"]')
    expect(summary.get('h3').text()).toBe('Validation file')
    expect(summary.text()).toContain('/data/dev.csv')
    expect(summary.get('[data-testid="data-validation-status"]').text().replace(/\s+/g, ' ')).toBe('4 rows · cannot be used as it is · 1 error')
    expect(summary.get('[data-testid="data-validation-unseen"]').text()).toBe('Labels the training data never has: neutral (1 row). A model trained on this data cannot predict them.')
    expect(summary.findAll('[data-testid="data-validation-classes"] tbody tr').map((tr) => tr.findAll('td').map((td) => td.text()))).toEqual([
      ['neg', '2'],
      ['neutral', '1'],
      ['pos', '1']
    ])
    expect(summary.findAll('[data-testid="data-validation-problems"] [data-testid="problem-row"]').map((c) => c.text())).toEqual(['4'])
    expect(w.find('[data-testid="data-problems"]').exists()).toBe(false)
  })

  it("draws the token-length histogram from the result's bins, the bins past the limit marked, and says why rows are truncated", async () => {
    // The demo's e-mails with its recipe's limit: bins split at 49 as the back end splits them.
    const histogram = [
      { from: 0, to: 16, count: 3 },
      { from: 16, to: 32, count: 6 },
      { from: 32, to: 49, count: 9 },
      { from: 49, to: 64, count: 40 },
      { from: 64, to: 128, count: 542 }
    ]
    const explanation = "48 is the token limit set in the Token limit field; the model takes up to 128 (the Universal Sentence Encoder lite's fixed input length). Training uses the same limit: each longer row is cut to its first 48 tokens."
    const tokens: DataCheckTokens = { maxLength: 48, tooLong: 582, mean: 97.2, max: 128, limit: { source: 'chosen', modelMaxLength: 128, modelField: "the Universal Sentence Encoder lite's fixed input length", explanation }, histogram }
    const demo: AppInfo['demo'] = { model: '/demo/model', data: '/demo/train.csv', task: 'classify', recipe: { validation: '/demo/test.csv', targets: 'layer\\.1\\.', perc: 0.25, lr: 0.05, headLr: 0.03, maxLength: 48, epochs: 3 } }
    const checked: DataCheckResult = { ...result, file: '/demo/train.csv', rows: 600, usable: true, problems: [], moreProblems: 0, tokens }
    setApi(new FakeApi({ checkData: () => checked }))
    const w = mount(DataView, { global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })], stubs: { BaseChart: true } } })
    useAppStore().info = { name: 'SiVA Studio', version: '0.1.0', versions: {}, platform: 'linux-x64', canPickPaths: false, demo }
    await w.get('[data-testid="data-path"]').setValue('/demo/train.csv')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('[data-testid="data-token-limit"]').text()).toBe('48')
    expect(w.get('[data-testid="data-token-truncated"]').text()).toBe('582 of 600 rows')
    const why = w.get('[data-testid="data-token-limit-why"]').text()
    expect(why).toContain(explanation)
    expect(why).toContain("The demo sets 48, the limit siva demo trains with, so each e-mail's start is what the model learns from; clear the Token limit field to use the model's own 128.")

    const chart = w.get('[data-testid="data-token-histogram"]').findComponent({ name: 'BaseChart' })
    const option = chart.props('option') as ChartOption
    const series = (option.series as { data: [number, number][]; markArea?: { data: [{ xAxis: number }, { xAxis: number }][] } }[])[0]!
    // One step per bin, its height the bin's count; the last point closes the last bin.
    expect(series.data.slice(0, histogram.length)).toEqual(histogram.map((b, i) => [i, b.count]))
    expect(series.data.at(-1)).toEqual([histogram.length, 542])
    // Shaded from the bin that starts at 49 to the end: those rows add up to the truncated count.
    expect(series.markArea!.data).toEqual([[{ xAxis: 3 }, { xAxis: 5 }]])
    expect(histogram.slice(3).reduce((sum, b) => sum + b.count, 0)).toBe(582)
    const edge = ((option.xAxis as { axisLabel: { formatter: (v: number) => string } }).axisLabel.formatter)
    expect([0, 1, 2, 3, 4, 5].map(edge)).toEqual(['0', '16', '32', '49', '64', '128'])
    expect(chart.props('label')).toBe('Rows per token length, limit 48: 0–15 tokens: 3; 16–31 tokens: 6; 32–48 tokens: 9; 49–63 tokens: 40; 64–127 tokens: 542')
  })
})
