/**
 * A trail of what the app did (engine checks, progress, results) on `window.__upscaleEvents`.
 * The end-to-end tests read it to assert on progress sources and order; the app never reads it.
 */
export interface TestEvent {
  kind: string
  source?: string
  value?: number
  detail?: string
}

declare global {
  interface Window {
    __upscaleEvents?: TestEvent[]
  }
}

export function record(ev: TestEvent): void {
  ;(window.__upscaleEvents ??= []).push({ ...ev })
}
