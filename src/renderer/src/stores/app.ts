import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { AppInfo } from '@shared/api'
import { useApi } from '../api'
import { messageOf } from '../lib/errors'
import type { StepId } from '../steps'

export type Theme = 'light' | 'dark'

const themeKey = 'siva-studio.theme'

function storedTheme(): Theme | undefined {
  try {
    const value = globalThis.localStorage?.getItem(themeKey)
    return value === 'light' || value === 'dark' ? value : undefined
  } catch {
    return undefined
  }
}

function systemTheme(): Theme {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'
}

/** The app around the wizard: back-end information, the theme, and the step on screen. */
export const useAppStore = defineStore('app', () => {
  const info = ref<AppInfo>()
  const error = ref<string>()
  const loading = ref(false)
  /** The theme the user chose (kept across sessions); the system's until they choose. */
  const chosenTheme = ref<Theme | undefined>(storedTheme())
  const theme = ref<Theme>(chosenTheme.value ?? systemTheme())
  const step = ref<StepId>('model')

  async function load(): Promise<void> {
    loading.value = true
    error.value = undefined
    try {
      info.value = await useApi().call('appInfo', {})
    } catch (e) {
      error.value = messageOf(e)
    } finally {
      loading.value = false
    }
  }

  /** The desktop app's open dialog; undefined when cancelled (or in a browser, which has none: the button is hidden there). */
  async function pickPath(kind: 'folder' | 'file', title?: string): Promise<string | undefined> {
    try {
      return (await useApi().call('pickPath', { kind, ...(title && { title }) })).path
    } catch (e) {
      error.value = messageOf(e)
      return undefined
    }
  }

  function applyTheme(): void {
    if (typeof document === 'undefined') return
    document.documentElement.dataset.theme = theme.value
  }

  function setTheme(value: Theme): void {
    theme.value = value
    chosenTheme.value = value
    try {
      globalThis.localStorage?.setItem(themeKey, value)
    } catch {
      // Storage can be unavailable (a locked-down profile): the choice then lasts for this session.
    }
    applyTheme()
  }

  function toggleTheme(): void {
    setTheme(theme.value === 'dark' ? 'light' : 'dark')
  }

  /** Follow the system's theme while the user has not chosen one. */
  function followSystem(): () => void {
    applyTheme()
    if (typeof matchMedia !== 'function') return () => {}
    const query = matchMedia('(prefers-color-scheme: dark)')
    const listener = (event: MediaQueryListEvent): void => {
      if (chosenTheme.value) return
      theme.value = event.matches ? 'dark' : 'light'
      applyTheme()
    }
    query.addEventListener('change', listener)
    return () => query.removeEventListener('change', listener)
  }

  function go(to: StepId): void {
    step.value = to
  }

  return { info, error, loading, theme, chosenTheme, step, load, pickPath, setTheme, toggleTheme, followSystem, go }
})
