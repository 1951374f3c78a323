import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { AppInfo } from '@shared/api'
import { useApi } from '../api'

export const useAppStore = defineStore('app', () => {
  const info = ref<AppInfo>()
  const error = ref<string>()

  async function load(): Promise<void> {
    try {
      info.value = await useApi().call('appInfo', {})
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e)
    }
  }

  return { info, error, load }
})
