import { describe, expect, it } from 'vitest'
import { isGrey, toGrey } from '../src/browser/upscaler'

const px = (...v: number[]) => new Uint8ClampedArray(v)

describe('grey images stay grey in the browser', () => {
  it('a grey (or grey+alpha) decode is grey; one coloured pixel is not', () => {
    expect(isGrey(px(10, 10, 10, 255, 200, 200, 200, 0))).toBe(true)
    expect(isGrey(px(10, 10, 10, 255, 200, 201, 200, 255))).toBe(false)
    expect(isGrey(px())).toBe(true)
  })
  it("the model's faint colour becomes the luma, alpha kept", () => {
    const out = px(100, 120, 90, 37, 255, 255, 255, 255, 0, 0, 0, 0, 250, 0, 0, 128)
    toGrey(out)
    // 0.299 * 100 + 0.587 * 120 + 0.114 * 90 = 110.6
    expect(Array.from(out)).toEqual([111, 111, 111, 37, 255, 255, 255, 255, 0, 0, 0, 0, 75, 75, 75, 128])
    expect(isGrey(out)).toBe(true)
  })
})
