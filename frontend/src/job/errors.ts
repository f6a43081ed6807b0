/** How a failed or cancelled job is told apart and shown. */
import { ModelMissing } from '../browser/modelFetch'
import type { MessageKey } from '../i18n'
import { abortError, ApiError } from '../api/errors'

/** Messages are kept as keys and translated when shown; backend details stay as they came. */
export interface ErrorState {
  title?: MessageKey
  key?: MessageKey
  params?: Record<string, string | number>
  message?: string
  code?: string | null
}

export function errorState(err: unknown): ErrorState {
  if (err instanceof ModelMissing) return { key: 'modelNotInstalled', params: { name: err.model } }
  // The job was accepted, then forgotten (the backend restarted, or the result expired): the
  // backend's "'3f2a' is not a job id" would read as the page's mistake.
  if (err instanceof ApiError && err.code === 'job_not_found') return { key: 'errJobLost', code: err.code }
  if (err instanceof ApiError)
    return err.key ? { key: err.key, params: err.params, code: err.code } : { message: err.message, code: err.code }
  return { message: err instanceof Error ? err.message : String(err) }
}

/** A cancel, not a failure: said as "Cancelled." rather than shown as an error. */
export const isAbort = (err: unknown): boolean => err instanceof DOMException && err.name === 'AbortError'

/** Settle with the promise, or reject at once when the signal fires. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError())
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError())
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
