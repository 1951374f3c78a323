import { defineStore } from 'pinia'
import { computed, ref, shallowRef, watch } from 'vue'
import type { DataCheckResult } from '@shared/api'
import type { TrainTask } from '@shared/training'
import { useApi } from '../api'
import { messageOf } from '../lib/errors'
import { useModelStore } from './model'

export type ColumnName = 'text' | 'textPair' | 'label' | 'prompt' | 'path' | 'messages'

export const taskLabels: Record<TrainTask, string> = {
  classify: 'Text classification',
  regress: 'Text regression',
  'causal-lm': 'Causal language modelling',
  'image-classify': 'Image classification'
}

/** The columns a task reads, in the order the form shows them. */
export const taskColumns: Record<TrainTask, readonly ColumnName[]> = {
  classify: ['text', 'textPair', 'label'],
  regress: ['text', 'textPair', 'label'],
  'causal-lm': ['text', 'prompt', 'messages'],
  'image-classify': ['path', 'label']
}

export const columnLabels: Record<ColumnName, string> = {
  text: 'Text column',
  textPair: 'Second text column',
  label: 'Label column',
  prompt: 'Prompt column',
  messages: 'Conversation column (chat)',
  path: 'Image path column'
}

/** The Data step: the training file (or image folder), its task and columns, and what checking it found. */
export const useDataStore = defineStore('data', () => {
  const path = ref('')
  const validation = ref('')
  const task = ref<TrainTask>('classify')
  const columns = ref<Partial<Record<ColumnName, string>>>({})
  const maxLength = ref<number>()
  const result = shallowRef<DataCheckResult>()
  const checking = ref(false)
  const error = ref<string>()

  /** The check belongs to the file and task it was run on: changing either asks for a new one. */
  watch([path, task], () => {
    result.value = undefined
  })

  const usedColumns = computed(() => {
    const used: Partial<Record<ColumnName, string>> = {}
    for (const name of taskColumns[task.value]) {
      const value = columns.value[name]?.trim()
      if (value) used[name] = value
    }
    return used
  })
  /** Errors in the training data and the validation file together: either one stops a run. */
  const errors = computed(() => [...(result.value?.problems ?? []), ...(result.value?.validation?.problems ?? [])].filter((p) => p.severity === 'error').length)
  const ready = computed(() => result.value?.usable === true)
  /** What a check reads: the files, the task and the columns. */
  const choices = computed(() => JSON.stringify([path.value.trim(), validation.value.trim(), task.value, usedColumns.value]))
  /** The choices the result was checked with. */
  const checkedChoices = ref<string>()
  /**
   * The result describes the data as chosen now. Editing the columns or the validation file keeps the
   * result on the Data step (it is still worth reading) but no longer vouches for what a run would read.
   */
  const current = computed(() => result.value !== undefined && checkedChoices.value === choices.value)

  async function check(): Promise<boolean> {
    const file = path.value.trim()
    if (file === '') {
      error.value = 'Enter a CSV, TSV, JSONL or Parquet file, a dataset folder of Parquet shards, or a folder of class folders for images.'
      return false
    }
    checking.value = true
    error.value = undefined
    const checkedWith = choices.value
    try {
      const model = useModelStore().summary?.path
      const found = await useApi().call('checkData', {
        path: file,
        task: task.value,
        ...(model && { model }),
        ...(validation.value.trim() && { validation: validation.value.trim() }),
        ...(Object.keys(usedColumns.value).length > 0 && { columns: usedColumns.value }),
        ...(maxLength.value !== undefined && { maxLength: maxLength.value })
      })
      result.value = found
      checkedChoices.value = checkedWith
      return found.usable
    } catch (e) {
      error.value = messageOf(e)
      result.value = undefined
      return false
    } finally {
      checking.value = false
    }
  }

  function setColumn(name: ColumnName, value: string): void {
    columns.value = { ...columns.value, [name]: value }
  }

  return { path, validation, task, columns, maxLength, result, checking, error, usedColumns, errors, ready, checkedChoices, current, check, setColumn }
})
