import { onBeforeUnmount, onMounted } from 'vue'

function editable(target: EventTarget | null): boolean {
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || (target instanceof HTMLElement && target.isContentEditable)
}

/**
 * A file (or a link) dropped outside every drop zone does nothing. Left alone, the page would open it in
 * place of the app: a browser tab loses everything on screen, and in Electron main refuses the navigation
 * (will-navigate) as a second line. Text dropped into a text field still goes in, as usual.
 */
function guard(event: DragEvent): void {
  if (event.defaultPrevented) return // a drop zone took it
  const types = [...(event.dataTransfer?.types ?? [])]
  if (!types.includes('Files') && !(types.includes('text/uri-list') && !editable(event.target))) return
  event.preventDefault()
  if (event.dataTransfer) event.dataTransfer.dropEffect = 'none'
}

/** For the app shell: guards the whole window while it is mounted. */
export function usePreventStrayDrops(): void {
  onMounted(() => {
    window.addEventListener('dragover', guard)
    window.addEventListener('drop', guard)
  })
  onBeforeUnmount(() => {
    window.removeEventListener('dragover', guard)
    window.removeEventListener('drop', guard)
  })
}
