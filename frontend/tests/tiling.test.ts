import { describe, expect, it } from 'vitest'
import { accumulateTile, axisBoundaries, axisWeights, extractTile, planTiles, toRGBA } from '../src/tiling'

/** A stand-in "model" with spatial context: 3x3 box blur (edge-clamped), then nearest upscale by s. */
function fakeModel(planar: Float32Array, w: number, h: number, s: number): Float32Array {
  const out = new Float32Array(3 * w * s * h * s)
  const plane = w * h
  const oplane = w * s * h * s
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let sum = 0
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const yy = Math.min(h - 1, Math.max(0, y + dy))
            const xx = Math.min(w - 1, Math.max(0, x + dx))
            sum += planar[c * plane + yy * w + xx]
          }
        const v = sum / 9
        for (let sy = 0; sy < s; sy++)
          for (let sx = 0; sx < s; sx++) out[c * oplane + (y * s + sy) * w * s + x * s + sx] = v
      }
  return out
}

function randomImage(w: number, h: number, seed = 1): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(w * h * 4)
  let state = seed
  for (let i = 0; i < rgba.length; i++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff
    rgba[i] = i % 4 === 3 ? 255 : state % 256
  }
  return rgba
}

function runTiled(rgba: Uint8ClampedArray, w: number, h: number, tile: number, overlap: number, s: number) {
  const plan = planTiles(w, h, tile, overlap)
  const acc = new Float32Array(w * s * h * s * 3)
  for (const t of plan.tiles) {
    const tw = t.x.readEnd - t.x.readStart
    const th = t.y.readEnd - t.y.readStart
    accumulateTile(acc, plan, t, fakeModel(extractTile(rgba, w, t), tw, th, s), s)
  }
  return { plan, acc }
}

describe('axisBoundaries', () => {
  it('covers the axis with nearly equal cores', () => {
    expect(axisBoundaries(100, 40)).toEqual([0, 33, 67, 100])
    expect(axisBoundaries(10, 64)).toEqual([0, 10])
    expect(axisBoundaries(128, 64)).toEqual([0, 64, 128])
  })
  it('rejects bad sizes', () => {
    expect(() => axisBoundaries(0, 10)).toThrow()
    expect(() => axisBoundaries(10, 0)).toThrow()
  })
})

describe('planTiles', () => {
  it('clips the context at the image edges', () => {
    const plan = planTiles(100, 50, 40, 8)
    expect(plan.xs.map((a) => [a.readStart, a.readEnd])).toEqual([
      [0, 41],
      [25, 75],
      [59, 100],
    ])
    expect(plan.tiles).toHaveLength(3 * 2)
    expect(plan.blend).toBe(4)
  })
  it('keeps the blend band inside small cores', () => {
    expect(planTiles(20, 20, 6, 16).blend).toBeLessThanOrEqual(3)
  })
})

describe('axisWeights', () => {
  it('form a partition of unity over the output axis', () => {
    for (const [size, tile, overlap, s] of [
      [100, 40, 8, 4],
      [37, 10, 6, 2],
      [64, 64, 16, 4],
      [50, 7, 0, 3],
    ]) {
      const plan = planTiles(size, size, tile, overlap)
      const sum = new Float64Array(size * s)
      for (const a of plan.xs) {
        const w = axisWeights(a, size, plan.blend, s)
        w.forEach((v, i) => (sum[a.readStart * s + i] += v))
      }
      for (const v of sum) expect(v).toBeCloseTo(1, 6)
    }
  })
})

describe('tiled inference', () => {
  it('matches the untiled result (no seams) when the overlap covers the receptive field', () => {
    const [w, h, s] = [45, 31, 4]
    const rgba = randomImage(w, h)
    const whole = runTiled(rgba, w, h, 1000, 0, s).acc
    const tiled = runTiled(rgba, w, h, 12, 4, s)
    expect(tiled.plan.tiles.length).toBeGreaterThan(4)
    let maxDiff = 0
    for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole[i] - tiled.acc[i]))
    expect(maxDiff).toBeLessThan(1e-5)
  })

  it('shows a seam without overlap, which is why we use it', () => {
    const [w, h, s] = [40, 40, 2]
    const rgba = randomImage(w, h, 7)
    const whole = runTiled(rgba, w, h, 1000, 0, s).acc
    const tiled = runTiled(rgba, w, h, 10, 0, s).acc
    let maxDiff = 0
    for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole[i] - tiled[i]))
    expect(maxDiff).toBeGreaterThan(0.01)
  })

  it('extracts planar RGB in 0..1', () => {
    const rgba = new Uint8ClampedArray([255, 0, 51, 255, 0, 255, 102, 255])
    const plan = planTiles(2, 1, 8, 0)
    const got = Array.from(extractTile(rgba, 2, plan.tiles[0]))
    ;[1, 0, 0, 1, 0.2, 0.4].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6))
  })

  it('converts to RGBA with clamping and rounding', () => {
    const out = toRGBA(new Float32Array([1.2, -0.1, 0.5]), 1)
    expect(Array.from(out)).toEqual([255, 0, 128, 255])
  })
})
