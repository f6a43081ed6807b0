/** The transport under the backend client: requests with the API key and a timeout, JSON answers. */
import { apiPath, type AppConfig } from '../config'
import { abortError, BackendUnreachable, failure } from './errors'

function headers(config: AppConfig, extra?: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = { ...extra }
  if (config.apiKey) h['X-API-Key'] = config.apiKey
  return h
}

export async function request(config: AppConfig, path: string, init: RequestInit = {}, timeoutMs = 0): Promise<Response> {
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

/** A request body being sent with XMLHttpRequest, which (unlike fetch) says when the body is all sent. */
export interface Upload {
  /** The answer; rejects with BackendUnreachable on a network failure, with an AbortError once aborted. */
  response: Promise<Response>
  /** True once the whole body has gone out: the server may act on it whatever the page does next. */
  sent(): boolean
  /** Stop sending, or stop waiting for the answer. */
  abort(): void
}

/** What an XMLHttpRequest received, as a fetch Response, so json() and failure() read it as before. */
function responseOf(xhr: XMLHttpRequest): Response {
  const headers = new Headers()
  for (const line of xhr.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
    const colon = line.indexOf(':')
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim())
  }
  // A 204/304 may carry no body; the Response constructor refuses one.
  const body = [204, 205, 304].includes(xhr.status) ? null : (xhr.response as Blob | null)
  return new Response(body, { status: xhr.status, statusText: xhr.statusText, headers })
}

/**
 * Send `body` with XMLHttpRequest: the same URL, API key and credentials mode as request(), plus
 * upload progress (`onProgress(loaded, total)`) and a sent() that tells whether the body is all out.
 */
export function upload(
  config: AppConfig,
  path: string,
  method: string,
  body: XMLHttpRequestBodyInit,
  onProgress?: (loaded: number, total: number) => void,
): Upload {
  const xhr = new XMLHttpRequest()
  let sent = false
  const response = new Promise<Response>((resolve, reject) => {
    try {
      xhr.open(method, apiPath(config, path))
      xhr.responseType = 'blob'
      for (const [name, value] of Object.entries(headers(config))) xhr.setRequestHeader(name, value)
    } catch (err) {
      // An unusable apiUrl: as fetch's TypeError in request(), grounds to fall back.
      reject(new BackendUnreachable(err instanceof Error ? err.message : String(err)))
      return
    }
    // Upload listeners go on before send(): the browser reports upload events only to those there then.
    xhr.upload.addEventListener('progress', (ev) => {
      if (ev.lengthComputable) {
        if (ev.loaded >= ev.total) sent = true
        onProgress?.(ev.loaded, ev.total)
      }
    })
    xhr.upload.addEventListener('load', () => (sent = true))
    xhr.addEventListener('load', () => {
      sent = true
      try {
        resolve(responseOf(xhr))
      } catch (err) {
        reject(new BackendUnreachable(err instanceof Error ? err.message : String(err)))
      }
    })
    // A network-level failure (status 0): the same grounds to fall back as a failed fetch.
    xhr.addEventListener('error', () => reject(new BackendUnreachable('network error')))
    xhr.addEventListener('timeout', () => reject(new BackendUnreachable('timed out')))
    xhr.addEventListener('abort', () => reject(abortError()))
    xhr.send(body)
  })
  return { response, sent: () => sent, abort: () => xhr.abort() }
}

export async function json<T>(res: Response): Promise<T> {
  if (!res.ok) throw await failure(res)
  return (await res.json()) as T
}

/** A finite number from a JSON value (numbers and numeric strings); undefined otherwise. */
export function num(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined
}
