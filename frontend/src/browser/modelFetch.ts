/** Fetching ONNX models for the worker: from the first URL that serves one, through the Cache API. */

const CACHE_NAME = 'upscaler-onnx-v1'

/** No URL served the model, and at least one answered with something else (a static server's HTML page, a 404). */
export class ModelMissing extends Error {
  model: string
  constructor(model: string, message: string) {
    super(message)
    this.name = 'ModelMissing'
    this.model = model
  }
}

/** A static server's SPA fallback answers 200 with index.html for files it does not have. */
export function isHtmlAnswer(contentType: string | null, firstBytes?: Uint8Array): boolean {
  if ((contentType ?? '').includes('text/html')) return true
  if (!firstBytes) return false
  // An ONNX file is protobuf and never starts with '<' (after optional whitespace).
  for (const b of firstBytes) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue
    return b === 0x3c
  }
  return false
}

async function readWithProgress(res: Response, onDownload?: (loaded: number, total: number | null) => void): Promise<ArrayBuffer> {
  const total = Number(res.headers.get('Content-Length')) || null
  if (!res.body) return res.arrayBuffer()
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let loaded = 0
  let lastPost = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    loaded += value.length
    const now = Date.now()
    if (now - lastPost > 150) {
      lastPost = now
      onDownload?.(loaded, total)
    }
  }
  onDownload?.(loaded, total ?? loaded)
  const out = new Uint8Array(loaded)
  let off = 0
  for (const c of chunks) {
    out.set(c, off)
    off += c.length
  }
  return out.buffer
}

async function openCache(): Promise<Cache | null> {
  try {
    return await caches.open(CACHE_NAME)
  } catch {
    return null // no Cache API (insecure context, tests)
  }
}

/** Why one URL did not give a model: its status and JSON detail. */
async function describe(res: Response): Promise<string> {
  let detail = `${res.status}`
  try {
    const body = await res.json()
    if (body?.detail) detail += ` ${body.detail}`
  } catch {
    /* not JSON */
  }
  return detail
}

/** Fetch the model from the first URL that answers with one, through the Cache API so it is downloaded once. */
export async function fetchModel(
  name: string,
  urls: string[],
  onDownload?: (loaded: number, total: number | null) => void,
): Promise<{ buffer: ArrayBuffer; url: string }> {
  const cache = await openCache()
  const cacheKey = cache ? new URL(`onnx-cache/${encodeURIComponent(name)}.onnx`, self.location.href).href : ''
  if (cache) {
    const hit = await cache.match(cacheKey)
    if (hit) return { buffer: await hit.arrayBuffer(), url: 'cache' }
  }
  const failures: string[] = []
  let missing = false
  for (const url of urls) {
    try {
      const res = await fetch(url)
      if (!res.ok || isHtmlAnswer(res.headers.get('Content-Type'))) {
        missing ||= res.status === 404 || isHtmlAnswer(res.headers.get('Content-Type'))
        failures.push(`${url}: ${await describe(res)}`)
        continue
      }
      const buffer = await readWithProgress(res, onDownload)
      if (isHtmlAnswer(null, new Uint8Array(buffer, 0, Math.min(64, buffer.byteLength)))) {
        missing = true
        failures.push(`${url}: not an ONNX file`)
        continue
      }
      if (cache) {
        try {
          await cache.put(cacheKey, new Response(buffer.slice(0), { headers: { 'Content-Type': 'application/octet-stream' } }))
        } catch {
          /* quota: fine, just not cached */
        }
      }
      return { buffer, url }
    } catch (err) {
      failures.push(`${url}: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  const details = failures.join('; ')
  if (missing)
    throw new ModelMissing(name, `the browser model ${name} is not installed on this server (run npm run models before the build) (${details})`)
  throw new Error(`could not download model ${name} (${details})`)
}
