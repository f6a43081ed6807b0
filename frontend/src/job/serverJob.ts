/** One job on the backend: upload, follow its progress, fetch the result. */
import type { AppConfig } from '../config'
import { abortError, ApiError } from '../api/errors'
import { cancelJob, createJob, getResult, TERMINAL_CANCEL, TERMINAL_OK, type JobOptions } from '../api/jobs'
import { watchJob } from '../api/watchJob'
import { record } from '../testEvents'
import { initialRun, serverProgress, uploaded, uploadProgress, type RunReporter } from './runState'
import type { JobOutput, SourceImage } from './types'

export interface ServerJobParams {
  config: AppConfig
  source: SourceImage
  options: JobOptions
  /** Shown as the device when neither the result nor the job names one. */
  fallbackDevice: string | undefined
  signal: AbortSignal
  reporter: RunReporter
  /** Called with the job id once created, and with null once its result is in (nothing left to cancel). */
  trackJob(id: string | null): void
}

/** "384x288" from the X-Output-Size header; [0, 0] when missing or unreadable. */
export function parseOutputSize(outputSize: string | null | undefined): [number, number] {
  const dims = outputSize?.split('x').map(Number)
  return dims && dims.length === 2 && dims.every(Number.isFinite) ? [dims[0], dims[1]] : [0, 0]
}

/** Rejects with BackendUnreachable when the backend goes away, so the caller can fall back. */
export async function runServerJob(params: ServerJobParams): Promise<JobOutput> {
  const { config, source, options, signal, reporter } = params
  const startedAt = Date.now()
  reporter.begin(initialRun('server', 'uploading', startedAt))
  const id = await createJob(config, source.file, source.name, options, signal, (loaded, total) =>
    reporter.update(uploadProgress(loaded, total)),
  )
  params.trackJob(id)
  record({ kind: 'job', detail: id })
  reporter.update(uploaded)
  const final = await watchJob(
    config,
    id,
    (p) => {
      record({ kind: 'progress', source: p.source, value: p.progress, detail: p.state })
      reporter.update(serverProgress(p))
    },
    signal,
  )
  if (TERMINAL_CANCEL.has(final.state)) throw abortError()
  if (!TERMINAL_OK.has(final.state)) {
    void cancelJob(config, id) // forget the failed job now rather than at its TTL
    throw new ApiError(final.errorMessage ?? final.state, 500, final.errorCode)
  }
  const res = await getResult(config, id, signal)
  params.trackJob(null)
  // The page holds the result now: DELETE it on the server, where kept results count against
  // JOBS_MAX_DISK_MB until their TTL (best effort; not awaited).
  void cancelJob(config, id)
  let [w, h] = parseOutputSize(res.outputSize)
  if (!w) {
    // No usable size header: read it from the image itself.
    const bmp = await createImageBitmap(res.blob)
    ;[w, h] = [bmp.width, bmp.height]
    bmp.close()
  }
  const device = res.device ?? final.device ?? params.fallbackDevice ?? ''
  return {
    blob: res.blob,
    width: w,
    height: h,
    seconds: res.processTime ?? (Date.now() - startedAt) / 1000,
    via: { engine: 'server', detail: device },
  }
}
