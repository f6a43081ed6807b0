/**
 * Run-time configuration.
 *
 * Precedence (later wins): built-in defaults < VITE_* values baked in at build time
 * < `config.json` served beside index.html < `?mode=` / `?api=` in the page URL.
 * That way one build deploys anywhere: change config.json, not the bundle.
 */

export type UpscaleMode = 'server' | 'browser' | 'auto'

export interface AppConfig {
  /** Backend base URL without a trailing slash; '' means the page's own origin. */
  apiUrl: string
  mode: UpscaleMode
  /** Where a static build keeps ONNX models: `${modelsUrl}/${name}.onnx`, relative to the page. */
  modelsUrl: string
  /** Model preselected in the UI. */
  defaultModel: string
  /** Core tile size (input px) and overlap for in-browser inference. */
  browserTile: number
  browserOverlap: number
  /** Browser-mode limit on output pixels (memory of the page). */
  browserMaxOutputPixels: number
  /** Sent as X-API-Key when the backend requires a key. */
  apiKey: string
}

export const DEFAULT_CONFIG: AppConfig = {
  apiUrl: '',
  mode: 'auto',
  modelsUrl: 'models',
  defaultModel: 'realesr-animevideov3',
  browserTile: 128,
  browserOverlap: 16,
  browserMaxOutputPixels: 4096 * 4096,
  apiKey: '',
}

const MODES: readonly UpscaleMode[] = ['server', 'browser', 'auto']

export function normalizeMode(value: unknown, fallback: UpscaleMode = DEFAULT_CONFIG.mode): UpscaleMode {
  if (typeof value !== 'string') return fallback
  const v = value.trim().toLowerCase()
  return (MODES as readonly string[]).includes(v) ? (v as UpscaleMode) : fallback
}

export function normalizeApiUrl(value: string): string {
  return value.trim().replace(/\/+$/, '')
}

type Raw = Record<string, unknown>

/** Accept both our keys and the VITE_* names in config.json, so `.env` values can be pasted in. */
const ALIASES: Record<string, keyof AppConfig> = {
  apiUrl: 'apiUrl',
  api_url: 'apiUrl',
  VITE_API_URL: 'apiUrl',
  mode: 'mode',
  upscaleMode: 'mode',
  VITE_UPSCALE_MODE: 'mode',
  modelsUrl: 'modelsUrl',
  defaultModel: 'defaultModel',
  browserTile: 'browserTile',
  browserOverlap: 'browserOverlap',
  browserMaxOutputPixels: 'browserMaxOutputPixels',
  apiKey: 'apiKey',
}

function applyLayer(base: AppConfig, layer: Raw | null | undefined): AppConfig {
  if (!layer || typeof layer !== 'object') return base
  const out: AppConfig = { ...base }
  for (const [key, value] of Object.entries(layer)) {
    const field = ALIASES[key]
    if (!field || value === undefined || value === null) continue
    switch (field) {
      case 'mode':
        out.mode = normalizeMode(value, out.mode)
        break
      case 'apiUrl':
      case 'modelsUrl':
      case 'defaultModel':
      case 'apiKey':
        if (typeof value === 'string') out[field] = field === 'defaultModel' ? value.trim() || out[field] : value
        break
      case 'browserTile':
      case 'browserOverlap':
      case 'browserMaxOutputPixels': {
        const n = Number(value)
        if (Number.isFinite(n) && n >= 0) out[field] = Math.floor(n)
        break
      }
    }
  }
  out.apiUrl = normalizeApiUrl(out.apiUrl)
  out.modelsUrl = out.modelsUrl.replace(/\/+$/, '')
  out.browserTile = Math.max(16, out.browserTile)
  out.browserOverlap = Math.min(out.browserOverlap, Math.floor(out.browserTile / 2))
  return out
}

/** Pure merge of the layers, in order of precedence; unit-tested. */
export function mergeConfig(env: Raw, runtime?: Raw | null, query?: URLSearchParams | null): AppConfig {
  const envLayer: Raw = {}
  // An empty VITE_* value means "not set", not "empty string".
  if (typeof env.VITE_API_URL === 'string' && env.VITE_API_URL !== '') envLayer.apiUrl = env.VITE_API_URL
  if (typeof env.VITE_UPSCALE_MODE === 'string' && env.VITE_UPSCALE_MODE !== '')
    envLayer.mode = env.VITE_UPSCALE_MODE
  let config = applyLayer(DEFAULT_CONFIG, envLayer)
  config = applyLayer(config, runtime)
  if (query) {
    const q: Raw = {}
    if (query.has('mode')) q.mode = query.get('mode')
    if (query.has('api')) q.apiUrl = query.get('api')
    config = applyLayer(config, q)
  }
  return config
}

/** Fetch config.json beside index.html; a missing or invalid file is ignored. */
export async function fetchRuntimeConfig(
  fetchFn: typeof fetch = fetch,
  url = 'config.json',
): Promise<Raw | null> {
  try {
    const res = await fetchFn(url, { cache: 'no-store' })
    if (!res.ok) return null
    const text = await res.text()
    // An SPA fallback may answer index.html for a missing file.
    if (!text.trim().startsWith('{')) return null
    const parsed = JSON.parse(text)
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Raw) : null
  } catch {
    return null
  }
}

export async function loadConfig(): Promise<AppConfig> {
  const runtime = await fetchRuntimeConfig()
  return mergeConfig(import.meta.env as unknown as Raw, runtime, new URLSearchParams(window.location.search))
}

/** Absolute URL of an API path: `${apiUrl}/api/...`, or same-origin when apiUrl is ''. */
export function apiPath(config: Pick<AppConfig, 'apiUrl'>, path: string): string {
  return `${config.apiUrl}${path.startsWith('/') ? path : `/${path}`}`
}
