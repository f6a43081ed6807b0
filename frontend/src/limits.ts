import type { MessageKey } from './i18n'
import type { Limits } from './api/system'

export interface Warning {
  key: MessageKey
  params: Record<string, string | number>
  /** True when the server would refuse the job outright (not just slow). */
  hard: boolean
}

export interface LimitCheckInput {
  width: number
  height: number
  fileBytes: number
  scale: number
  engine: 'server' | 'browser'
  limits: Limits
  browserMaxOutputPixels: number
  /** Above this many output pixels a browser job is worth a "this may be slow" warning. */
  browserSlowPixels?: number
}

/** Megapixels with three significant digits: 16.8, 0.0192. */
export const mp = (px: number) => String(Number((px / 1e6).toPrecision(3)))

export function outputDims(width: number, height: number, scale: number): [number, number] {
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))]
}

/** What to warn about before starting; empty when the job is within every limit. */
export function checkLimits(input: LimitCheckInput): Warning[] {
  const { width, height, fileBytes, scale, engine, limits } = input
  const [ow, oh] = outputDims(width, height, scale)
  const out: Warning[] = []
  if (engine === 'server') {
    if (limits.maxUploadMB !== undefined && fileBytes > limits.maxUploadMB * 1024 * 1024)
      out.push({
        key: 'warnUploadOverLimit',
        params: { mb: (fileBytes / 1024 / 1024).toFixed(1), limit: limits.maxUploadMB },
        hard: true,
      })
    if (limits.maxInputPixels !== undefined && width * height > limits.maxInputPixels)
      out.push({
        key: 'warnInputOverLimit',
        params: { mp: mp(width * height), limit: mp(limits.maxInputPixels) },
        hard: true,
      })
    if (limits.maxScale !== undefined && scale > limits.maxScale)
      out.push({ key: 'warnScaleOverLimit', params: { s: scale, limit: limits.maxScale }, hard: true })
    if (limits.maxOutputPixels !== undefined && ow * oh > limits.maxOutputPixels)
      out.push({
        key: 'warnOverLimit',
        params: { w: ow, h: oh, mp: mp(ow * oh), limit: mp(limits.maxOutputPixels) },
        hard: true,
      })
  } else {
    if (ow * oh > input.browserMaxOutputPixels)
      out.push({
        key: 'warnOverLimit',
        params: { w: ow, h: oh, mp: mp(ow * oh), limit: mp(input.browserMaxOutputPixels) },
        hard: false,
      })
    else if (ow * oh > (input.browserSlowPixels ?? 2048 * 2048))
      out.push({ key: 'warnBrowserSlow', params: { mp: mp(ow * oh) }, hard: false })
  }
  return out
}
