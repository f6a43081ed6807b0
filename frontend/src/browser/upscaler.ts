/** Page side of in-browser upscaling: decode, run the worker, restore alpha, resize, encode. */
import { ModelMissing } from './modelFetch'
import type { ExecutionBackend, RunRequest, WorkerEvent } from './protocol'

export interface DecodedImage {
  width: number
  height: number
  data: ImageData
}

function canvas(width: number, height: number): HTMLCanvasElement {
  const c = document.createElement('canvas')
  c.width = width
  c.height = height
  return c
}

function ctx2d(c: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = c.getContext('2d', { willReadFrequently: true })
  if (!ctx) throw new Error('canvas 2D is not available')
  return ctx
}

export async function decodeImage(file: Blob): Promise<DecodedImage> {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image', premultiplyAlpha: 'none' })
  try {
    const c = canvas(bitmap.width, bitmap.height)
    const ctx = ctx2d(c)
    ctx.drawImage(bitmap, 0, 0)
    return { width: bitmap.width, height: bitmap.height, data: ctx.getImageData(0, 0, bitmap.width, bitmap.height) }
  } finally {
    bitmap.close()
  }
}

/** The decoded pixels as a PNG (a still of an animation's first frame). */
export function encodePng(data: ImageData): Promise<Blob> {
  const c = canvas(data.width, data.height)
  ctx2d(c).putImageData(data, 0, 0)
  return new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error('could not encode PNG'))), 'image/png'))
}

export function hasTransparency(data: ImageData): boolean {
  const d = data.data
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 255) return true
  return false
}

/** Every pixel has R = G = B (a grey image, as the browser decodes grey and grey+alpha PNGs). */
export function isGrey(rgba: Uint8ClampedArray): boolean {
  for (let i = 0; i < rgba.length; i += 4) if (rgba[i] !== rgba[i + 1] || rgba[i + 1] !== rgba[i + 2]) return false
  return true
}

/**
 * In place: R, G and B become the pixel's luma (ITU-R 601, as the backend's grey output), alpha
 * is left alone. The model's RGB output of a grey input has faint colour fringes; grey stays grey.
 */
export function toGrey(rgba: Uint8ClampedArray): void {
  for (let i = 0; i < rgba.length; i += 4) {
    const y = Math.round(0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2])
    rgba[i] = rgba[i + 1] = rgba[i + 2] = y
  }
}

export interface BrowserRunOptions {
  modelName: string
  modelUrls: string[]
  targetScale: number
  tile: number
  overlap: number
  preferWebGPU?: boolean
}

export interface BrowserRunEvents {
  onStage?: (stage: 'loading-model' | 'running', backend?: ExecutionBackend) => void
  onDownload?: (loaded: number, total: number | null) => void
  onProgress?: (done: number, total: number) => void
}

export interface BrowserResult {
  blob: Blob
  width: number
  height: number
  backend: ExecutionBackend
}

let worker: Worker | null = null
let rejectCurrent: ((err: unknown) => void) | null = null

function getWorker(): Worker {
  if (!worker) worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' })
  return worker
}

/** Stop the running job at once: the worker is terminated (and recreated for the next job). */
export function cancelBrowserJob(): void {
  if (worker) {
    worker.terminate()
    worker = null
  }
  rejectCurrent?.(new DOMException('cancelled', 'AbortError'))
  rejectCurrent = null
}

function runWorker(req: RunRequest, events: BrowserRunEvents) {
  return new Promise<Extract<WorkerEvent, { type: 'done' }>>((resolve, reject) => {
    const w = getWorker()
    rejectCurrent = reject
    w.onmessage = (ev: MessageEvent<WorkerEvent>) => {
      const m = ev.data
      switch (m.type) {
        case 'stage':
          events.onStage?.(m.stage, m.backend)
          break
        case 'download':
          events.onDownload?.(m.loaded, m.total)
          break
        case 'progress':
          events.onProgress?.(m.done, m.total)
          break
        case 'done':
          rejectCurrent = null
          resolve(m)
          break
        case 'error':
          rejectCurrent = null
          reject(m.missingModel ? new ModelMissing(m.missingModel, m.message) : new Error(m.message))
          break
      }
    }
    w.onerror = (ev) => {
      rejectCurrent = null
      // A broken worker is discarded so the next job starts clean.
      worker?.terminate()
      worker = null
      reject(new Error(ev.message || 'the inference worker crashed'))
    }
    const rgba = req.rgba
    w.postMessage(req, [rgba])
  })
}

export async function upscaleInBrowser(
  image: DecodedImage,
  opts: BrowserRunOptions,
  events: BrowserRunEvents = {},
): Promise<BrowserResult> {
  const copy = new Uint8ClampedArray(image.data.data) // the worker takes ownership of this buffer
  const done = await runWorker(
    {
      type: 'run',
      modelName: opts.modelName,
      modelUrls: opts.modelUrls,
      width: image.width,
      height: image.height,
      rgba: copy.buffer,
      tile: opts.tile,
      overlap: opts.overlap,
      preferWebGPU: opts.preferWebGPU ?? true,
    },
    events,
  )
  const modelOut = new ImageData(new Uint8ClampedArray(done.rgba), done.width, done.height)
  if (isGrey(image.data.data)) toGrey(modelOut.data)

  // Alpha: the model sees RGB only; the alpha plane is resized smoothly to match.
  if (hasTransparency(image.data)) {
    const src = canvas(image.width, image.height)
    ctx2d(src).putImageData(image.data, 0, 0)
    const big = canvas(done.width, done.height)
    const bctx = ctx2d(big)
    bctx.imageSmoothingEnabled = true
    bctx.imageSmoothingQuality = 'high'
    bctx.drawImage(src, 0, 0, done.width, done.height)
    const alpha = bctx.getImageData(0, 0, done.width, done.height).data
    for (let i = 3; i < modelOut.data.length; i += 4) modelOut.data[i] = alpha[i]
  }

  let out = canvas(done.width, done.height)
  ctx2d(out).putImageData(modelOut, 0, 0)
  const W = Math.max(1, Math.round(image.width * opts.targetScale))
  const H = Math.max(1, Math.round(image.height * opts.targetScale))
  if (W !== done.width || H !== done.height) {
    const resized = canvas(W, H)
    const rctx = ctx2d(resized)
    rctx.imageSmoothingEnabled = true
    rctx.imageSmoothingQuality = 'high'
    rctx.drawImage(out, 0, 0, W, H)
    out = resized
  }
  const blob = await new Promise<Blob>((resolve, reject) =>
    out.toBlob((b) => (b ? resolve(b) : reject(new Error('could not encode PNG'))), 'image/png'),
  )
  return { blob, width: W, height: H, backend: done.backend }
}
