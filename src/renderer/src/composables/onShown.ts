import { onActivated, onMounted } from 'vue'

/**
 * Run `show` each time a view comes on screen: when it mounts, and when App's KeepAlive brings it back
 * (the Runs list should be fresh each time it is opened). Under KeepAlive a first mount also activates;
 * that activation is skipped so `show` runs once.
 */
export function onShown(show: () => void): void {
  let justMounted = false
  onMounted(() => {
    justMounted = true
    show()
  })
  onActivated(() => {
    if (justMounted) {
      justMounted = false
      return
    }
    show()
  })
}
