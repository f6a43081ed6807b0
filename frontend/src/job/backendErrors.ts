/**
 * The backend's error codes a user of the page can meet, said in the page's language: its `detail`
 * is English, and counts bytes and pixels. Unknown codes keep the backend's text (see errorState).
 */
import type { ApiError } from '../api/errors'
import type { MessageKey } from '../i18n'

export interface TranslatedError {
  key: MessageKey
  params?: Record<string, string | number>
  /** The backend's own words, shown under the translation where they say why (which formats to use instead). */
  detail?: string
}

const MIB = 1024 * 1024

/** 30, 2.1, 0.019: two significant figures below 10, whole numbers above. */
function rounded(n: number): number {
  return n >= 10 ? Math.round(n) : Number(n.toPrecision(2))
}

const mb = (bytes: number) => rounded(bytes / MIB)
const megapixels = (pixels: number) => rounded(pixels / 1e6)

// The numbers in the backend's details (backend/service/limits.py, backend/api/middleware.py).
const UPLOAD_SIZE = /(\d+) bytes; the limit is ([\d.]+)( MB)?/
const PIXELS = /(\d+)x(\d+) = (\d+) pixels; the limit is (\d+)/

function uploadTooLarge(detail: string): TranslatedError {
  const m = UPLOAD_SIZE.exec(detail)
  if (!m) return { key: 'errUploadTooLarge' }
  const limitBytes = m[3] ? Number(m[2]) * MIB : Number(m[2])
  return { key: 'errUploadOverLimit', params: { mb: mb(Number(m[1])), limit: mb(limitBytes) } }
}

function tooManyPixels(detail: string, over: MessageKey, plain: MessageKey): TranslatedError {
  const m = PIXELS.exec(detail)
  if (!m) return { key: plain }
  return { key: over, params: { w: m[1], h: m[2], mp: megapixels(Number(m[3])), limit: megapixels(Number(m[4])) } }
}

function busy(retryAfter: number | undefined): TranslatedError {
  return retryAfter ? { key: 'errServerBusy', params: { s: retryAfter } } : { key: 'errServerBusyNow' }
}

// Codes whose detail says why and what to do instead (a camera raw file, a TIFF compression, the models
// there are): the translation alone would drop that.
const EXPLAINED = new Set(['invalid_image', 'unsupported_media_type', 'model_not_found'])

const FIXED: Record<string, MessageKey> = {
  invalid_image: 'errNotImage',
  unsupported_media_type: 'errNotImage',
  truncated_image: 'errTruncatedImage',
  empty_upload: 'errEmptyUpload',
  decompression_bomb: 'errImageBomb',
  unauthorized: 'errUnauthorized',
  out_of_memory: 'errOutOfMemory',
  model_not_found: 'errModelNotFound',
  // Accepted, then forgotten (restarted, or the result expired): the backend's "'3f2a' is not a
  // job id" would read as the page's mistake.
  job_not_found: 'errJobLost',
}

/** The message for a backend error code the page knows; null for any other. */
export function translatedError(err: ApiError): TranslatedError | null {
  switch (err.code) {
    case 'upload_too_large':
      return uploadTooLarge(err.message)
    case 'image_too_large':
      return tooManyPixels(err.message, 'errImageOverLimit', 'errImageTooLarge')
    case 'output_too_large':
      return tooManyPixels(err.message, 'errOutputOverLimit', 'errOutputTooLarge')
    case 'queue_full':
    case 'job_storage_full':
      return busy(err.retryAfter)
    default:
      if (!err.code || !(err.code in FIXED)) return null
      return EXPLAINED.has(err.code) ? { key: FIXED[err.code], detail: err.message } : { key: FIXED[err.code] }
  }
}
