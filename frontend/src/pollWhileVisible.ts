/** A repeating check that pauses while the page is hidden: an idle background tab asks nothing. */

/** The part of `document` this needs, so tests can hand in a stand-in. */
export interface VisibilitySource {
  readonly visibilityState: DocumentVisibilityState
  addEventListener(type: 'visibilitychange', listener: () => void): void
  removeEventListener(type: 'visibilitychange', listener: () => void): void
}

/**
 * Calls `check` every `intervalMs` while `doc` is visible. Hidden, the timer stops; shown again,
 * `check` runs at once (the backend may have gone or come back meanwhile) and the timer restarts.
 * Returns the function that stops it all.
 */
export function pollWhileVisible(check: () => void, intervalMs: number, doc: VisibilitySource = document): () => void {
  let timer: ReturnType<typeof setInterval> | null = null
  const start = () => {
    if (timer === null) timer = setInterval(check, intervalMs)
  }
  const pause = () => {
    if (timer !== null) clearInterval(timer)
    timer = null
  }
  const onChange = () => {
    if (doc.visibilityState === 'hidden') return pause()
    // A "visible" event while already polling (no hidden in between) needs no extra check.
    if (timer !== null) return
    check()
    start()
  }
  if (doc.visibilityState !== 'hidden') start()
  doc.addEventListener('visibilitychange', onChange)
  return () => {
    pause()
    doc.removeEventListener('visibilitychange', onChange)
  }
}
