/** The job API: create, look at, cancel a job and fetch its result; job states and progress records. */
import type { AppConfig } from '../config'
import type { OutputFormat } from '../filename'
import { abortError, ApiError, BackendUnreachable, failure } from './errors'
import { json, num, request, upload } from './http'
import type { DeviceInfo } from './system'

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

export interface JobOptions {
  model: string
  scale: number
  format: OutputFormat
}

/**
 * How long a create request lives on after a Cancel that came once the upload was complete: the
 * backend creates the job whatever the page does then, so the answer is awaited this long to learn
 * the id it must delete.
 */
export const CANCEL_GRACE_MS = 10000

/**
 * Upload the image and create a job; `onUploadProgress(loaded, total)` follows the upload. A cancel
 * (the signal) rejects at once. While the upload is still being sent it is aborted (the backend
 * never gets the whole file, so no job exists); once it is all sent, the answer is awaited for up
 * to CANCEL_GRACE_MS and the job id that arrives is deleted, so the job neither runs for nobody nor
 * holds a queue slot until it expires.
 */
export async function createJob(
  config: AppConfig,
  file: Blob,
  fileName: string,
  opts: JobOptions,
  signal?: AbortSignal,
  onUploadProgress?: (loaded: number, total: number) => void,
): Promise<string> {
  if (signal?.aborted) throw abortError()
  const form = new FormData()
  form.append('file', file, fileName)
  form.append('model', opts.model)
  form.append('scale', String(opts.scale))
  form.append('format', opts.format)
  const sending = upload(config, '/api/jobs', 'POST', form, onUploadProgress)
  if (!signal) return jobIdFrom(sending.response)
  return new Promise<string>((resolve, reject) => {
    let cancelled = false
    let graceTimer: ReturnType<typeof setTimeout> | undefined
    const onCancel = () => {
      cancelled = true
      reject(abortError())
      if (!sending.sent()) sending.abort()
      else graceTimer = setTimeout(() => sending.abort(), CANCEL_GRACE_MS)
    }
    signal.addEventListener('abort', onCancel, { once: true })
    jobIdFrom(sending.response)
      .then(
        (id) => (cancelled ? void cancelJob(config, id) : resolve(id)),
        (err) => reject(err),
      )
      .finally(() => {
        signal.removeEventListener('abort', onCancel)
        clearTimeout(graceTimer)
      })
  })
}

/** The job id from the answer to POST /api/jobs. */
async function jobIdFrom(response: Promise<Response>): Promise<string> {
  const body = await json<{ id?: string; job_id?: string }>(await response)
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

/** DELETE the job: stops it if it still runs and frees its result on the server. Never throws. */
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
