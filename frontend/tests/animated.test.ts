import { describe, expect, it } from 'vitest'
import { isAnimatedImage } from '../src/animated'

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)))

/** A GIF with `frames` 1x1 frames (global colour table of 2 entries, a NETSCAPE loop extension). */
function gif(frames: number): Uint8Array {
  const frame = [0x21, 0xf9, 4, 0, 10, 0, 0, 0, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0]
  const loop = [0x21, 0xff, 11, ...bytes('NETSCAPE2.0'), 3, 1, 0, 0, 0]
  return bytes('GIF89a', [1, 0, 1, 0, 0x80, 0, 0], [0, 0, 0, 255, 255, 255], loop, ...Array(frames).fill(frame), [0x3b])
}

function chunk(type: string, len = 0): number[] {
  return [0, 0, 0, len, ...bytes(type), ...Array(len).fill(0), 0, 0, 0, 0]
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

describe('isAnimatedImage', () => {
  it('counts GIF frames', () => {
    expect(isAnimatedImage(gif(1))).toBe(false)
    expect(isAnimatedImage(gif(3))).toBe(true)
  })
  it('finds the APNG acTL chunk before IDAT', () => {
    expect(isAnimatedImage(bytes(PNG_SIG, chunk('IHDR', 13), chunk('acTL', 8), chunk('IDAT', 4), chunk('IEND')))).toBe(true)
    expect(isAnimatedImage(bytes(PNG_SIG, chunk('IHDR', 13), chunk('IDAT', 4), chunk('IEND')))).toBe(false)
  })
  it('reads the animated WebP flag', () => {
    const webp = (flags: number) => bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8X', [10, 0, 0, 0, flags, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    expect(isAnimatedImage(webp(0x02))).toBe(true)
    expect(isAnimatedImage(webp(0x10))).toBe(false)
  })
  it('says no for JPEG and garbage', () => {
    expect(isAnimatedImage(bytes([0xff, 0xd8, 0xff, 0xe0], Array(20).fill(0)))).toBe(false)
    expect(isAnimatedImage(bytes('hello'))).toBe(false)
  })
})
