import { describe, expect, it } from 'vitest'
import { checkLimits, mp } from '../src/limits'
import { parseLimits } from '../src/api/system'

const base = { width: 1000, height: 1000, fileBytes: 1_000_000, scale: 4, browserMaxOutputPixels: 4096 * 4096 }

describe('checkLimits', () => {
  it('is quiet within the limits', () => {
    expect(checkLimits({ ...base, engine: 'server', limits: { maxOutputPixels: 8192 * 8192 } })).toEqual([])
  })
  it('warns about server limits', () => {
    const w = checkLimits({
      ...base,
      engine: 'server',
      limits: { maxUploadMB: 0.5, maxInputPixels: 500_000, maxOutputPixels: 1_000_000, maxScale: 2 },
    })
    expect(w.map((x) => x.key)).toEqual(['warnUploadOverLimit', 'warnInputOverLimit', 'warnScaleOverLimit', 'warnOverLimit'])
    expect(w.every((x) => x.hard)).toBe(true)
  })
  it('warns about browser memory and slowness', () => {
    expect(checkLimits({ ...base, width: 2000, height: 2000, engine: 'browser', limits: {} })[0].key).toBe('warnOverLimit')
    expect(checkLimits({ ...base, width: 600, height: 600, engine: 'browser', limits: {} })[0].key).toBe('warnBrowserSlow')
    expect(checkLimits({ ...base, width: 100, height: 100, engine: 'browser', limits: {} })).toEqual([])
  })
})

describe('parseLimits', () => {
  it('reads nested or flat limits', () => {
    expect(parseLimits({ limits: { max_upload_mb: 50, max_input_pixels: 100, max_output_pixels: 200, max_scale: 8 } })).toEqual({
      maxUploadMB: 50,
      maxInputPixels: 100,
      maxOutputPixels: 200,
      maxScale: 8,
    })
    expect(parseLimits({ max_upload_bytes: 2_000_000 }).maxUploadMB).toBe(2)
    expect(parseLimits(null)).toEqual({ maxUploadMB: undefined, maxInputPixels: undefined, maxOutputPixels: undefined, maxScale: undefined })
  })
})

describe('mp', () => {
  it('keeps small and large sizes readable', () => {
    expect(mp(19200)).toBe('0.0192')
    expect(mp(16777216)).toBe('16.8')
    expect(mp(10000)).toBe('0.01')
  })
})
