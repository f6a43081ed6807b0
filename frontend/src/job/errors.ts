/** How a failed or cancelled job is told apart and shown. */
import { ModelMissing } from '../browser/modelFetch'
import type { MessageKey } from '../i18n'
import { abortError, ApiError } from '../api/errors'
import { translatedError } from './backendErrors'

/** Messages are kept as keys and translated when shown; details of unknown backend codes stay as they came. */
export interface ErrorState {
  title?: MessageKey
  key?: MessageKey
  params?: Record<string, string | number>
  message?: string
  /** The backend's reason, shown under a translated message (see backendErrors). */
  detail?: string
  code?: string | null
}

export function errorState(err: unknown): ErrorState {
  if (err instanceof ModelMissing) return { key: 'modelNotInstalled', params: { name: err.model } }
  if (err instanceof ApiError) {
    if (err.key) return { key: err.key, params: err.params, code: err.code }
    const known = translatedError(err)
    return known ? { ...known, code: err.code } : { message: err.message, code: err.code }
  }
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
