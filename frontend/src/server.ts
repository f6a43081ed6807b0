/**
 * Client of the backend: health, info, models, and the job API with SSE progress.
 * Every error the backend returns as JSON `{detail, code}` surfaces as an ApiError.
 */
import { apiPath, type AppConfig } from './config'
import type { OutputFormat } from './filename'
import type { MessageKey } from './i18n'

export class ApiError extends Error {
  status: number
  code: string | null
  /** Set when the body was unusable (a proxy's HTML page): the page shows this key, translated. */
  key?: MessageKey
  params?: Record<string, string | number>
  constructor(message: string, status: number, code: string | null = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

/** A network-level failure (backend down, CORS, connection reset): grounds for falling back. */
export class BackendUnreachable extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BackendUnreachable'
  }
}

export function abortError(): DOMException {
  return new DOMException('cancelled', 'AbortError')
}

export interface DeviceInfo {
  type: string
  name: string
  torch_version?: string
}

export interface Health {
  status: 'healthy' | 'loading' | 'unhealthy' | string
  model_loaded: boolean
  device?: DeviceInfo
  /** The backend's default model. */
  model?: string
}

export interface Limits {
  maxUploadMB?: number
  maxInputPixels?: number
  maxOutputPixels?: number
  maxScale?: number
}

export interface ServerModel {
  name: string
  scale: number | null
  arch: string | null
  source?: string
  loaded?: boolean
  description?: string
}

export interface JobProgress {
  state: string
  /** 0..100 */
  progress: number
  tilesDone?: number
  tilesTotal?: number
  eta?: number | null
  device?: string | null
  queuePosition?: number | null
  errorMessage?: string | null
  errorCode?: string | null
  source: 'sse' | 'poll'
}

export const TERMINAL_OK = new Set(['succeeded', 'success', 'done', 'completed', 'complete', 'finished'])
export const TERMINAL_FAIL = new Set(['failed', 'error'])
export const TERMINAL_CANCEL = new Set(['cancelled', 'canceled'])

export function isTerminal(state: string): boolean {
  return TERMINAL_OK.has(state) || TERMINAL_FAIL.has(state) || TERMINAL_CANCEL.has(state)
}

function headers(config: AppConfig, extra?: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = { ...extra }
  if (config.apiKey) h['X-API-Key'] = config.apiKey
  return h
}

async function request(config: AppConfig, path: string, init: RequestInit = {}, timeoutMs = 0): Promise<Response> {
  const controller = new AbortController()
  const outer = init.signal
  if (outer) {
    if (outer.aborted) controller.abort()
    else outer.addEventListener('abort', () => controller.abort(), { once: true })
  }
  const timer = timeoutMs > 0 ? setTimeout(() => controller.abort(), timeoutMs) : null
  try {
    return await fetch(apiPath(config, path), {
      ...init,
      headers: headers(config, init.headers as Record<string, string> | undefined),
      signal: controller.signal,
    })
  } catch (err) {
    if (outer?.aborted) throw err
    throw new BackendUnreachable(err instanceof Error ? err.message : String(err))
  } finally {
    if (timer) clearTimeout(timer)
  }
}

/** A readable message for a status whose body cannot be shown (a proxy's HTML page, nothing at all). */
export function statusMessage(status: number): { key: MessageKey; params?: Record<string, number>; text: string } {
  if (status === 413) return { key: 'errUploadTooLarge', text: 'the file is too large for the server' }
  if (status === 502 || status === 503) return { key: 'errBackendUnreachable', text: 'the backend is not reachable' }
  if (status === 504) return { key: 'errBackendTimeout', text: 'the backend did not answer in time' }
  return { key: 'errHttpStatus', params: { status }, text: `the server answered ${status}` }
}

function looksLikeHtml(res: Response, text: string): boolean {
  return (res.headers.get('Content-Type') ?? '').includes('html') || text.startsWith('<')
}

/**
 * Turn a non-2xx response into an ApiError carrying the backend's `detail` and `code`.
 * Only JSON or short plain text is shown as is; anything else (an HTML error page) gets a
 * message from the status.
 */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let code: string | null = null
  try {
    const body = await res.clone().json()
    const detail = body?.detail ?? body?.message ?? body?.error
    let message: string | null = null
    if (typeof detail === 'string') message = detail
    else if (Array.isArray(detail))
      message = detail.map((d) => (typeof d === 'string' ? d : (d?.msg ?? JSON.stringify(d)))).join('; ')
    else if (detail) message = JSON.stringify(detail)
    if (typeof body?.code === 'string') code = body.code
    if (message !== null) {
      if (typeof body?.request_id === 'string') message += ` (request ${body.request_id})`
      return new ApiError(message, res.status, code)
    }
  } catch {
    try {
      const text = (await res.text()).trim()
      if (text && text.length < 300 && !looksLikeHtml(res, text)) return new ApiError(text, res.status)
    } catch {
      /* fall through to the status */
    }
  }
  const { key, params, text } = statusMessage(res.status)
  const err = new ApiError(text, res.status, code)
  err.key = key
  err.params = params
  return err
}

// Our nginx answers these codes itself when the backend is down; a stopping backend says
// shutting_down. Any other code on a 503 (queue_full) comes from a live backend and is shown.
const GONE_CODES = new Set(['backend_unreachable', 'backend_timeout', 'shutting_down'])

/** A 502/503/504 from a proxy (no backend code) means the backend is gone, not that the request was bad. */
export function isBackendGone(err: ApiError): boolean {
  return [502, 503, 504].includes(err.status) && (err.code === null || GONE_CODES.has(err.code))
}

/** The error to throw for a non-2xx response: BackendUnreachable when a proxy says the backend is gone. */
export async function failure(res: Response): Promise<Error> {
  const err = await errorFromResponse(res)
  return isBackendGone(err) ? new BackendUnreachable(`backend answered ${res.status}: ${err.message}`) : err
}

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) throw await failure(res)
  return (await res.json()) as T
}

export async function getHealth(config: AppConfig, timeoutMs = 4000): Promise<Health> {
  const res = await request(config, '/api/health', {}, timeoutMs)
  if (res.ok) return (await res.json()) as Health
  // A readiness-style 503 still carries the Health body; a proxy's 502/504 means the backend is down.
  try {
    const body = await res.clone().json()
    if (body && typeof body.status === 'string') return body as Health
  } catch {
    /* not JSON */
  }
  if ([502, 503, 504].includes(res.status)) throw new BackendUnreachable(`backend answered ${res.status}`)
  throw await errorFromResponse(res)
}

export function isReady(health: Health | null | undefined): boolean {
  return !!health && health.status === 'healthy' && health.model_loaded !== false
}

function num(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined
}

/** Read the limits out of /api/info, whatever their exact nesting. */
export function parseLimits(info: unknown): Limits {
  const root = (info ?? {}) as Record<string, unknown>
  const l = (root.limits ?? root) as Record<string, unknown>
  const uploadBytes = num(l.max_upload_bytes)
  return {
    maxUploadMB: num(l.max_upload_mb) ?? (uploadBytes !== undefined ? uploadBytes / 1e6 : undefined),
    maxInputPixels: num(l.max_input_pixels),
    maxOutputPixels: num(l.max_output_pixels),
    maxScale: num(l.max_scale),
  }
}

export async function getInfo(config: AppConfig): Promise<{ raw: unknown; limits: Limits }> {
  const raw = await json<unknown>(await request(config, '/api/info', {}, 5000))
  return { raw, limits: parseLimits(raw) }
}

export async function getModels(config: AppConfig): Promise<ServerModel[]> {
  const body = await json<unknown>(await request(config, '/api/models', {}, 5000))
  const list = Array.isArray(body) ? body : ((body as { models?: unknown[] })?.models ?? [])
  return (list as Record<string, unknown>[])
    .filter((m) => m && typeof m.name === 'string')
    .map((m) => ({
      name: m.name as string,
      scale: num(m.scale) ?? null,
      arch: typeof m.arch === 'string' ? m.arch : null,
      source: typeof m.source === 'string' ? m.source : undefined,
      loaded: typeof m.loaded === 'boolean' ? m.loaded : undefined,
      description: typeof m.description === 'string' ? m.description : undefined,
    }))
}

export function onnxModelUrl(config: AppConfig, name: string): string {
  return apiPath(config, `/api/models/${encodeURIComponent(name)}/onnx`)
}

export interface JobOptions {
  model: string
  scale: number
  format: OutputFormat
}

/**
 * Upload the image and create a job. The signal aborts the upload; if the backend created the
 * job just as the signal fired, the job is deleted so it does not run for nobody.
 */
export async function createJob(
  config: AppConfig,
  file: Blob,
  fileName: string,
  opts: JobOptions,
  signal?: AbortSignal,
): Promise<string> {
  const form = new FormData()
  form.append('file', file, fileName)
  form.append('model', opts.model)
  form.append('scale', String(opts.scale))
  form.append('format', opts.format)
  const body = await json<{ id?: string; job_id?: string }>(
    await request(config, '/api/jobs', { method: 'POST', body: form, signal }),
  )
  const id = body.id ?? body.job_id
  if (!id) throw new ApiError('the backend did not return a job id', 500)
  if (signal?.aborted) {
    void cancelJob(config, id)
    throw abortError()
  }
  return id
}

/** Normalise a job snapshot or SSE payload. */
export function parseProgress(data: unknown, source: 'sse' | 'poll'): JobProgress | null {
  if (!data || typeof data !== 'object') return null
  const d = data as Record<string, unknown>
  const job = (d.job && typeof d.job === 'object' ? d.job : d) as Record<string, unknown>
  const state = String(job.state ?? job.status ?? '')
  let progress = num(job.progress) ?? num(job.percent)
  const tilesDone = num(job.tiles_done)
  const tilesTotal = num(job.tiles_total)
  if (progress === undefined && tilesDone !== undefined && tilesTotal) progress = (100 * tilesDone) / tilesTotal
  if (TERMINAL_OK.has(state)) progress = 100
  const err = job.error as Record<string, unknown> | string | undefined
  const errorMessage =
    (typeof err === 'string' ? err : (err?.detail as string) ?? (err?.message as string)) ??
    (job.error_message as string) ??
    (job.detail as string) ??
    null
  const errorCode = (typeof err === 'object' && err ? (err.code as string) : undefined) ?? (job.error_code as string) ?? null
  const device = job.device
  return {
    state,
    progress: Math.max(0, Math.min(100, progress ?? 0)),
    tilesDone,
    tilesTotal,
    eta: num(job.eta) ?? num(job.eta_seconds) ?? null,
    device: typeof device === 'string' ? device : ((device as DeviceInfo | undefined)?.type ?? null),
    queuePosition: num(job.queue_position) ?? null,
    errorMessage: typeof errorMessage === 'string' ? errorMessage : null,
    errorCode: typeof errorCode === 'string' ? errorCode : null,
    source,
  }
}

export async function getJob(config: AppConfig, id: string, signal?: AbortSignal): Promise<JobProgress> {
  const body = await json<unknown>(await request(config, `/api/jobs/${encodeURIComponent(id)}`, { signal }, 10000))
  const p = parseProgress(body, 'poll')
  if (!p) throw new ApiError('malformed job status', 500)
  return p
}

export async function cancelJob(config: AppConfig, id: string): Promise<void> {
  try {
    await request(config, `/api/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' }, 5000)
  } catch {
    /* best effort */
  }
}

export interface JobResult {
  blob: Blob
  processTime: number | null
  device: string | null
  outputSize: string | null
}

export async function getResult(config: AppConfig, id: string, signal?: AbortSignal): Promise<JobResult> {
  const res = await request(config, `/api/jobs/${encodeURIComponent(id)}/result`, { signal })
  if (!res.ok) throw await failure(res)
  let blob: Blob
  try {
    blob = await res.blob()
  } catch (err) {
    // The connection broke mid-download.
    if (signal?.aborted) throw err
    throw new BackendUnreachable(err instanceof Error ? err.message : String(err))
  }
  const t = res.headers.get('X-Process-Time')
  return {
    blob,
    processTime: t ? Number(t) : null,
    device: res.headers.get('X-Device'),
    outputSize: res.headers.get('X-Output-Size'),
  }
}

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
