// @vitest-environment happy-dom
import { createTestingPinia } from '@pinia/testing'
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import type { DesktopApi } from '../../../src/preload/api'
import { noPathInBrowser } from '@renderer/api/droppedPath'
import { usePreventStrayDrops } from '@renderer/composables/preventStrayDrops'
import { pathFromFileUrl, pathFromText, pathFromUriList } from '@renderer/lib/paths'
import { useDataStore } from '@renderer/stores/data'
import DataView from '@renderer/views/DataView.vue'
import InspectView from '@renderer/views/InspectView.vue'
import ModelView from '@renderer/views/ModelView.vue'
import { FakeApi, setApi } from './fakeApi'
import { bertSummary } from './fixtures'

vi.mock('@renderer/api', () => import('./fakeApi'))

/**
 * A drag's data as a browser hands it to the page: files show as the type 'Files' (happy-dom's own
 * DataTransfer lists a file under its MIME type instead, so drops are built here), each item can say
 * whether it is a folder.
 */
function transfer({ files = [], text, uriList, folder = false }: { files?: File[]; text?: string; uriList?: string; folder?: boolean }): DataTransfer {
  const data: Record<string, string> = {}
  if (text !== undefined) data['text/plain'] = text
  if (uriList !== undefined) data['text/uri-list'] = uriList
  return {
    types: [...(files.length > 0 ? ['Files'] : []), ...Object.keys(data)],
    files: Object.assign([...files], { item: (i: number) => files[i] ?? null }),
    items: files.map(() => ({ kind: 'file', webkitGetAsEntry: () => ({ isDirectory: folder, isFile: !folder }) })),
    getData: (format: string) => data[format] ?? '',
    dropEffect: 'none'
  } as unknown as DataTransfer
}

function dragEvent(type: string, dataTransfer: DataTransfer): Event {
  const event = new Event(type, { bubbles: true, cancelable: true })
  Object.defineProperty(event, 'dataTransfer', { value: dataTransfer })
  return event
}

/** Drag `data` onto `target` and drop it there, as a user does. */
async function dropOn(target: { element: Element }, data: DataTransfer): Promise<void> {
  target.element.dispatchEvent(dragEvent('dragenter', data))
  target.element.dispatchEvent(dragEvent('dragover', data))
  target.element.dispatchEvent(dragEvent('drop', data))
  await flushPromises()
}

/** The desktop app: the preload's pathForFile answers with where each file is. */
function desktop(paths: Map<File, string>): ReturnType<typeof vi.fn> {
  const pathForFile = vi.fn((file: File) => paths.get(file) ?? '')
  window.api = { call: vi.fn(), stream: vi.fn(), pathForFile } as unknown as DesktopApi
  return pathForFile
}

const plugins = (): { global: { plugins: ReturnType<typeof createTestingPinia>[] } } => ({ global: { plugins: [createTestingPinia({ stubActions: false, createSpy: vi.fn })] } })

afterEach(() => {
  delete window.api
})

describe('paths from dropped text', () => {
  it('takes a plain path, without the quotes a "copy as path" adds, and decodes file: URLs', () => {
    expect(pathFromText('  /models/tiny-bert\n')).toBe('/models/tiny-bert')
    expect(pathFromText('"C:\\Users\\me\\bert base"')).toBe('C:\\Users\\me\\bert base')
    expect(pathFromText('file:///home/me/my%20model')).toBe('/home/me/my model')
    expect(pathFromFileUrl('file:///C:/models/bert')).toBe('C:/models/bert')
    expect(pathFromFileUrl('file://server/share/bert')).toBe('//server/share/bert')
    expect(pathFromFileUrl('file://localhost/srv/bert')).toBe('/srv/bert')
  })

  it('is no path for several lines, a web address, control characters or a malformed URL', () => {
    expect(pathFromText('/a\n/b')).toBeUndefined()
    expect(pathFromText('https://huggingface.co/bert-base-uncased')).toBeUndefined()
    expect(pathFromText('/a\u0007b')).toBeUndefined()
    expect(pathFromText('   ')).toBeUndefined()
    expect(pathFromText('file:///%E0%A4%A')).toBeUndefined()
    expect(pathFromFileUrl('https://example.com/x')).toBeUndefined()
  })

  it('takes the first entry of a uri-list, comments skipped, only when it is a file: URL', () => {
    expect(pathFromUriList('# dragged from Files\r\nfile:///data/train.csv\r\nfile:///data/dev.csv')).toBe('/data/train.csv')
    expect(pathFromUriList('https://example.com/train.csv')).toBeUndefined()
    expect(pathFromUriList('')).toBeUndefined()
  })
})

describe('dropping on the Model step', () => {
  it('in the desktop app, opens the dropped folder by the path the preload reads, with the zone highlighted while dragging', async () => {
    const folder = new File([], 'tiny-bert')
    const pathForFile = desktop(new Map([[folder, '/models/tiny-bert']]))
    const api = setApi(new FakeApi({ openModel: ({ path }) => ({ ...bertSummary(1), path }), recentModels: () => [] }))
    const w = mount(ModelView, plugins())
    const zone = w.get('[data-testid="model-drop"]')
    expect(zone.text()).toContain('Or drop a checkpoint folder or a .safetensors file here.')

    const data = transfer({ files: [folder], folder: true })
    const enter = dragEvent('dragenter', data)
    zone.element.dispatchEvent(enter)
    const over = dragEvent('dragover', data)
    zone.element.dispatchEvent(over)
    await flushPromises()
    // Cancelled: this is a drop target (and the page does not open the folder itself).
    expect(enter.defaultPrevented).toBe(true)
    expect(over.defaultPrevented).toBe(true)
    expect(data.dropEffect).toBe('copy')
    expect(zone.classes()).toContain('drop-zone--over')
    expect(zone.text()).toContain('Drop to open it')
    // Entering a child and leaving it again keeps the highlight: the zone itself is still under the pointer.
    const input = w.get('[data-testid="model-path"]')
    input.element.dispatchEvent(dragEvent('dragenter', data))
    input.element.dispatchEvent(new Event('dragleave', { bubbles: true }))
    await flushPromises()
    expect(zone.classes()).toContain('drop-zone--over')

    zone.element.dispatchEvent(dragEvent('drop', data))
    await flushPromises()
    expect(zone.classes()).not.toContain('drop-zone--over')
    expect(pathForFile).toHaveBeenCalledWith(folder)
    expect(api.callsOf('openModel')).toEqual([{ path: '/models/tiny-bert' }])
    expect((input.element as HTMLInputElement).value).toBe('/models/tiny-bert')
    expect(w.find('[data-testid="model-summary"]').exists()).toBe(true)
  })

  it('in a browser, a dropped file has no path: the zone says so plainly and opens nothing', async () => {
    const api = setApi(new FakeApi({ openModel: ({ path }) => ({ ...bertSummary(1), path }), recentModels: () => [] }))
    const w = mount(ModelView, plugins())
    const zone = w.get('[data-testid="model-drop"]')
    expect(zone.text()).toContain('dropping files works in the desktop app')
    const data = transfer({ files: [new File(['{}'], 'config.json')] })
    zone.element.dispatchEvent(dragEvent('dragenter', data))
    await flushPromises()
    // Said while still dragging, too.
    expect(zone.text()).toContain(noPathInBrowser)
    zone.element.dispatchEvent(dragEvent('drop', data))
    await flushPromises()
    expect(w.get('[data-testid="model-drop-problem"]').text()).toBe(noPathInBrowser)
    expect(api.callsOf('openModel')).toEqual([])
  })

  it.each([
    ['a browser', false],
    ['the desktop app', true]
  ])('in %s, a path dropped as text (text/plain or a file: uri-list) opens the model', async (_where, inDesktop) => {
    if (inDesktop) desktop(new Map())
    const api = setApi(new FakeApi({ openModel: ({ path }) => ({ ...bertSummary(1), path }), recentModels: () => [] }))
    const w = mount(ModelView, plugins())
    const zone = w.get('[data-testid="model-drop"]')
    await dropOn(zone, transfer({ text: '/models/tiny-bert\n' }))
    await dropOn(zone, transfer({ uriList: 'file:///models/my%20bert', text: 'file:///models/my%20bert' }))
    expect(api.callsOf('openModel')).toEqual([{ path: '/models/tiny-bert' }, { path: '/models/my bert' }])
    expect(w.find('[data-testid="model-drop-problem"]').exists()).toBe(false)
  })

  it('text that is not a path (a web address, several lines) gets a message and opens nothing; typing clears it', async () => {
    const api = setApi(new FakeApi({ openModel: ({ path }) => ({ ...bertSummary(1), path }), recentModels: () => [] }))
    const w = mount(ModelView, plugins())
    const zone = w.get('[data-testid="model-drop"]')
    await dropOn(zone, transfer({ uriList: 'https://huggingface.co/bert-base-uncased', text: 'https://huggingface.co/bert-base-uncased' }))
    expect(w.get('[data-testid="model-drop-problem"]').text()).toBe('That is not a path: drop a file or folder, or a path as text.')
    await dropOn(zone, transfer({ text: 'first line\nsecond line' }))
    expect(w.get('[data-testid="model-drop-problem"]').text()).toContain('not a path')
    expect(api.callsOf('openModel')).toEqual([])
    await w.get('[data-testid="model-path"]').setValue('/models/typed')
    expect(w.find('[data-testid="model-drop-problem"]').exists()).toBe(false)
  })

  it('in the desktop app, several files at once are refused with a count, and a file not on disk is named as such', async () => {
    desktop(new Map())
    const api = setApi(new FakeApi({ recentModels: () => [] }))
    const w = mount(ModelView, plugins())
    const zone = w.get('[data-testid="model-drop"]')
    await dropOn(zone, transfer({ files: [new File([], 'config.json'), new File([], 'model.safetensors')] }))
    expect(w.get('[data-testid="model-drop-problem"]').text()).toBe('Drop one file or folder at a time (2 were dropped).')
    await dropOn(zone, transfer({ files: [new File([], 'made-in-script.bin')] }))
    expect(w.get('[data-testid="model-drop-problem"]').text()).toContain('no path on this computer')
    expect(api.callsOf('openModel')).toEqual([])
  })
})

describe('dropping on the Data step and on Inspect', () => {
  it('a dropped data file is checked; a dropped folder is checked as an image dataset', async () => {
    const csv = new File(['text,label'], 'train.csv')
    const images = new File([], 'digits')
    desktop(new Map([
      [csv, '/data/train.csv'],
      [images, '/data/digits']
    ]))
    const api = setApi(new FakeApi({ checkData: ({ path, task }) => ({ file: path, task, rows: 9, usable: true, problems: [], moreProblems: 0, columns: { available: [], used: {} }, preview: [] }) }))
    const w = mount(DataView, plugins())
    const zone = w.get('[data-testid="data-drop"]')
    expect(zone.text()).toContain('Or drop a data file or an image folder here.')
    await dropOn(zone, transfer({ files: [csv] }))
    await dropOn(zone, transfer({ files: [images], folder: true }))
    expect(api.callsOf('checkData')).toEqual([
      { path: '/data/train.csv', task: 'classify' },
      { path: '/data/digits', task: 'image-classify' }
    ])
    expect(useDataStore().path).toBe('/data/digits')
    expect(w.get('[data-testid="data-status"]').text()).toContain('ready to train')
  })

  it('a path dropped on Inspect is analysed', async () => {
    const api = setApi(new FakeApi())
    const w = mount(InspectView, plugins())
    await dropOn(w.get('[data-testid="inspect-drop"]'), transfer({ text: '/models/gpt2/model.safetensors' }))
    expect(api.last('analyseLayers').params).toEqual({ path: '/models/gpt2/model.safetensors', valuesOnly: true })
    expect((w.get('[data-testid="inspect-path"]').element as HTMLInputElement).value).toBe('/models/gpt2/model.safetensors')
  })
})

describe('a drop outside every drop zone', () => {
  const Shell = defineComponent({
    setup() {
      usePreventStrayDrops()
      return () => h('div', [h('p', { 'data-testid': 'outside' }, 'text'), h('input', { 'data-testid': 'field', type: 'text' })])
    }
  })

  it('of a file does nothing (the page would otherwise open it in place of the app); text into a field still goes in', () => {
    const w = mount(Shell, { attachTo: document.body })
    const files = transfer({ files: [new File([], 'model.safetensors')] })
    const over = dragEvent('dragover', files)
    w.get('[data-testid="outside"]').element.dispatchEvent(over)
    expect(over.defaultPrevented).toBe(true)
    expect(files.dropEffect).toBe('none')
    const drop = dragEvent('drop', files)
    w.get('[data-testid="outside"]').element.dispatchEvent(drop)
    expect(drop.defaultPrevented).toBe(true)
    // A link dropped on the page is refused the same way; text dropped into a field is left to the field.
    const link = dragEvent('dragover', transfer({ uriList: 'https://example.com' }))
    w.get('[data-testid="outside"]').element.dispatchEvent(link)
    expect(link.defaultPrevented).toBe(true)
    const text = dragEvent('dragover', transfer({ text: '/models/x', uriList: 'file:///models/x' }))
    w.get('[data-testid="field"]').element.dispatchEvent(text)
    expect(text.defaultPrevented).toBe(false)
    w.unmount()
    const after = dragEvent('dragover', transfer({ files: [new File([], 'x')] }))
    document.body.dispatchEvent(after)
    expect(after.defaultPrevented).toBe(false)
  })
})
