/**
 * The errors the backend client throws: ApiError for an answer we can show (the backend's JSON
 * `{detail, code}`, or a message from the status), BackendUnreachable for grounds to fall back.
 */
import type { MessageKey } from '../i18n'

export class ApiError extends Error {
  status: number
  code: string | null
  /** Set when the body was unusable (a proxy's HTML page): the page shows this key, translated. */
  key?: MessageKey
  params?: Record<string, string | number>
  /** Seconds from a Retry-After header (a full queue says when to come back). */
  retryAfter?: number
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

/** A readable message for a status whose body cannot be shown (a proxy's HTML page, nothing at all). */
export function statusMessage(status: number): { key: MessageKey; params?: Record<string, number>; text: string } {
  if (status === 413) return { key: 'errUploadTooLarge', text: 'the file is too large for the server' }
  if (status === 502 || status === 503) return { key: 'errBackendUnreachable', text: 'the backend is not reachable' }
  if (status === 504) return { key: 'errBackendTimeout', text: 'the backend did not answer in time' }
  return { key: 'errHttpStatus', params: { status }, text: `the server answered ${status}` }
}

/** Retry-After in seconds (the backend sends seconds, not a date); undefined when absent or unreadable. */
function retryAfterSeconds(header: string | null): number | undefined {
  const seconds = header === null ? NaN : Number(header)
  return Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds) : undefined
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
      const err = new ApiError(message, res.status, code)
      err.retryAfter = retryAfterSeconds(res.headers.get('Retry-After'))
      return err
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
