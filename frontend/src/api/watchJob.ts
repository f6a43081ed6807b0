/** Following a job to its end: SSE progress first, polling when the stream breaks, a watchdog for silence. */
import { apiPath, type AppConfig } from '../config'
import { abortError, ApiError, BackendUnreachable } from './errors'
import { getJob, isTerminal, parseProgress, type JobProgress } from './jobs'

const SSE_EVENT_NAMES = ['message', 'progress', 'state', 'status', 'queued', 'running', 'done', 'succeeded', 'failed', 'cancelled', 'complete', 'end']

/** How long the progress stream may stay silent before the job is checked directly. */
export const WATCHDOG_MS = 45_000

/**
 * Follow a job until it ends: SSE first (real progress), polling if the stream breaks.
 * A watchdog asks for the job directly when nothing has been heard for `silenceMs` (the stream
 * can stay open while the backend behind it is gone). Resolves with the final progress record;
 * rejects on abort, and with BackendUnreachable when the backend is gone.
 */
export function watchJob(
  config: AppConfig,
  id: string,
  onProgress: (p: JobProgress) => void,
  signal: AbortSignal,
  silenceMs = WATCHDOG_MS,
): Promise<JobProgress> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError())
    let settled = false
    let source: EventSource | null = null
    let pollTimer: ReturnType<typeof setTimeout> | null = null
    let watchdog: ReturnType<typeof setTimeout> | null = null
    let last: JobProgress | null = null

    const finish = (p: JobProgress | null, err?: unknown) => {
      if (settled) return
      settled = true
      source?.close()
      if (pollTimer) clearTimeout(pollTimer)
      if (watchdog) clearTimeout(watchdog)
      signal.removeEventListener('abort', onAbort)
      if (err !== undefined) reject(err)
      else resolve(p!)
    }
    const onAbort = () => finish(null, abortError())
    signal.addEventListener('abort', onAbort)

    const handle = (p: JobProgress | null) => {
      if (!p || settled) return
      if (!p.state && last) p.state = last.state
      if (last && p.progress < last.progress) p.progress = last.progress // never goes backwards
      last = p
      onProgress(p)
      if (isTerminal(p.state)) finish(p)
    }

    /** One direct look at the job; false when the watch has ended (job over, backend gone, aborted). */
    const check = async (): Promise<boolean> => {
      try {
        handle(await getJob(config, id, signal))
        heard()
      } catch (err) {
        if (err instanceof ApiError || err instanceof BackendUnreachable) finish(null, err)
        else if (signal.aborted) return false
      }
      return !settled
    }

    // Every sign of life (an event, a poll answer, the stream opening) re-arms the watchdog.
    const heard = () => {
      if (settled) return
      if (watchdog) clearTimeout(watchdog)
      watchdog = setTimeout(() => void check(), silenceMs)
    }

    const poll = async () => {
      if (settled) return
      if (await check()) pollTimer = setTimeout(poll, 700)
    }

    heard()
    if (typeof EventSource === 'undefined' || config.apiKey) {
      // EventSource cannot send headers; poll when a key is needed.
      void poll()
      return
    }
    source = new EventSource(apiPath(config, `/api/jobs/${encodeURIComponent(id)}/events`))
    const onMessage = (ev: MessageEvent) => {
      heard()
      let data: unknown
      try {
        data = JSON.parse(ev.data)
      } catch {
        return
      }
      const p = parseProgress(data, 'sse')
      if (p && !p.state && ev.type !== 'message' && ev.type !== 'progress') p.state = ev.type
      handle(p)
    }
    for (const name of SSE_EVENT_NAMES) source.addEventListener(name, onMessage as EventListener)
    source.addEventListener('open', heard)
    source.onerror = () => {
      if (settled) return
      // The stream ended or broke: the job may be over, or the backend gone. Ask directly.
      source?.close()
      source = null
      void poll()
    }
  })
}
