import { pathFromText, pathFromUriList } from '../lib/paths'

/** What a drop gave: a path to open (and whether it is a folder, when the drop says), or why there is none. */
export type DroppedPath = { path: string; kind?: 'file' | 'folder' } | { problem: string }

/** Said where a file was dropped but its path cannot be known: a browser never tells a page where a file lives. */
export const noPathInBrowser = 'Dropping files works in the desktop app; here type or paste the path on the server.'

/**
 * Whether a dropped file's path can be read: in the desktop app, through the preload's pathForFile. A
 * page under `siva serve` gets the file's contents at most, never where it is, and the server could not
 * read the user's disk anyway.
 */
export function canReadDroppedFiles(): boolean {
  return typeof window !== 'undefined' && typeof window.api?.pathForFile === 'function'
}

/** Whether a drag may carry a path (its data is only readable on drop; the types are readable throughout). */
export function mayCarryPath(data: DataTransfer | null): boolean {
  const types = data ? [...data.types] : []
  return types.includes('Files') || types.includes('text/uri-list') || types.includes('text/plain')
}

/** Whether a drag carries files and nothing else this page could read a path from. */
export function carriesOnlyFiles(data: DataTransfer | null): boolean {
  const types = data ? [...data.types] : []
  return types.includes('Files') && !types.includes('text/uri-list') && !types.includes('text/plain')
}

function entryKind(data: DataTransfer): { kind?: 'file' | 'folder' } {
  const item = data.items?.[0]
  const entry = item && typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null
  if (!entry) return {}
  return { kind: entry.isDirectory ? 'folder' : 'file' }
}

/**
 * The path a drop carries: a file or folder from the system's file manager (desktop app), a file: URL,
 * or a path as text. Only a path is handed on: the view opens it with the same call as a typed one, and
 * the back end checks it as it checks every path.
 */
export function readDroppedPath(data: DataTransfer | null): DroppedPath {
  if (!data) return { problem: 'Nothing was dropped.' }
  const files = data.files
  if (files.length > 1) return { problem: `Drop one file or folder at a time (${files.length} were dropped).` }
  if (files.length === 1 && canReadDroppedFiles()) {
    const path = window.api!.pathForFile(files[0]!)
    if (path) return { path, ...entryKind(data) }
  }
  const fromUri = pathFromUriList(data.getData('text/uri-list'))
  if (fromUri) return { path: fromUri }
  const fromText = pathFromText(data.getData('text/plain'))
  if (fromText) return { path: fromText }
  if (files.length === 1) return { problem: canReadDroppedFiles() ? 'That file has no path on this computer (it was not dragged from a folder on disk).' : noPathInBrowser }
  return { problem: 'That is not a path: drop a file or folder, or a path as text.' }
}
