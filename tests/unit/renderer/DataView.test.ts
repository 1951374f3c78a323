// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import type { DataCheckResult } from '@shared/api'
import DataView from '@renderer/views/DataView.vue'
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
})
