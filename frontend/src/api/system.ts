/** The backend's own state: health, limits, models and their ONNX exports. */
import { apiPath, type AppConfig } from '../config'
import { BackendUnreachable, errorFromResponse } from './errors'
import { json, num, request } from './http'

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
