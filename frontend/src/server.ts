/**
 * Client of the backend: health, info, models, and the job API with SSE progress.
 * Every error the backend returns as JSON `{detail, code}` surfaces as an ApiError.
 */
import { apiPath, type AppConfig } from './config'
import type { OutputFormat } from './filename'

export class ApiError extends Error {
  status: number
  code: string | null
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

export interface DeviceInfo {
  type: string
  name: string
  torch_version?: string
}

export interface Health {
  status: 'healthy' | 'loading' | 'unhealthy' | string
  model_loaded: boolean
  device?: DeviceInfo
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

/** Turn a non-2xx response into an ApiError carrying the backend's `detail` and `code`. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`.trim()
  let code: string | null = null
  try {
    const body = await res.clone().json()
    const detail = body?.detail ?? body?.message ?? body?.error
    if (typeof detail === 'string') message = detail
    else if (Array.isArray(detail))
      message = detail.map((d) => (typeof d === 'string' ? d : (d?.msg ?? JSON.stringify(d)))).join('; ')
    else if (detail) message = JSON.stringify(detail)
    if (typeof body?.code === 'string') code = body.code
    if (typeof body?.request_id === 'string') message += ` (request ${body.request_id})`
  } catch {
    try {
      const text = (await res.text()).trim()
      if (text && text.length < 300) message = text
    } catch {
      /* keep status text */
    }
  }
  return new ApiError(message, res.status, code)
}

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) throw await errorFromResponse(res)
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

export async function createJob(config: AppConfig, file: Blob, fileName: string, opts: JobOptions): Promise<string> {
  const form = new FormData()
  form.append('file', file, fileName)
  form.append('model', opts.model)
  form.append('scale', String(opts.scale))
  form.append('format', opts.format)
  const body = await json<{ id?: string; job_id?: string }>(
    await request(config, '/api/jobs', { method: 'POST', body: form }),
  )
  const id = body.id ?? body.job_id
  if (!id) throw new ApiError('the backend did not return a job id', 500)
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
  if (!res.ok) throw await errorFromResponse(res)
  const t = res.headers.get('X-Process-Time')
  return {
    blob: await res.blob(),
    processTime: t ? Number(t) : null,
    device: res.headers.get('X-Device'),
    outputSize: res.headers.get('X-Output-Size'),
  }
}

const SSE_EVENT_NAMES = ['message', 'progress', 'state', 'status', 'queued', 'running', 'done', 'succeeded', 'failed', 'cancelled', 'complete', 'end']

/**
 * Follow a job until it ends: SSE first (real progress), polling if the stream breaks.
 * Resolves with the final progress record; rejects on abort.
 */
export function watchJob(
  config: AppConfig,
  id: string,
  onProgress: (p: JobProgress) => void,
  signal: AbortSignal,
): Promise<JobProgress> {
  return new Promise((resolve, reject) => {
    let settled = false
    let source: EventSource | null = null
    let pollTimer: ReturnType<typeof setTimeout> | null = null
    let last: JobProgress | null = null

    const finish = (p: JobProgress | null, err?: unknown) => {
      if (settled) return
      settled = true
      source?.close()
      if (pollTimer) clearTimeout(pollTimer)
      signal.removeEventListener('abort', onAbort)
      if (err !== undefined) reject(err)
      else resolve(p!)
    }
    const onAbort = () => finish(null, new DOMException('cancelled', 'AbortError'))
    signal.addEventListener('abort', onAbort)

    const handle = (p: JobProgress | null) => {
      if (!p || settled) return
      if (!p.state && last) p.state = last.state
      if (last && p.progress < last.progress) p.progress = last.progress // never goes backwards
      last = p
      onProgress(p)
      if (isTerminal(p.state)) finish(p)
    }

    const poll = async () => {
      if (settled) return
      try {
        handle(await getJob(config, id, signal))
      } catch (err) {
        if (err instanceof ApiError || err instanceof BackendUnreachable) return finish(null, err)
        if (signal.aborted) return
      }
      if (!settled) pollTimer = setTimeout(poll, 700)
    }

    if (typeof EventSource === 'undefined' || config.apiKey) {
      // EventSource cannot send headers; poll when a key is needed.
      void poll()
      return
    }
    source = new EventSource(apiPath(config, `/api/jobs/${encodeURIComponent(id)}/events`))
    const onMessage = (ev: MessageEvent) => {
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
    source.onerror = () => {
      if (settled) return
      // The stream ended or broke: the job may be over, or the backend gone. Ask directly.
      source?.close()
      source = null
      void poll()
    }
  })
}
