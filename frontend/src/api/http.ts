/** The transport under the backend client: requests with the API key and a timeout, JSON answers. */
import { apiPath, type AppConfig } from '../config'
import { BackendUnreachable, failure } from './errors'

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

export async function json<T>(res: Response): Promise<T> {
  if (!res.ok) throw await failure(res)
  return (await res.json()) as T
}

/** A finite number from a JSON value (numbers and numeric strings); undefined otherwise. */
export function num(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined
}
