/**
 * Tiled inference for the browser: overlapping tiles and a feathered blend, so that the
 * tiled result matches the untiled one (no seams).
 *
 * Along each axis the image is cut into cores [c_k, c_{k+1}). A tile reads its core plus
 * `overlap` pixels of context on each side (clipped at the image edge). Around each
 * internal boundary c_k a band of half-width `blend` (<= overlap / 2, in input pixels) is
 * cross-faded with a linear ramp; the weights of neighbouring tiles sum to exactly 1, so
 * the accumulation needs no normalisation pass.
 */

export interface AxisTile {
  /** Core interval in input pixels. */
  start: number
  end: number
  /** Input interval the model sees: core plus context, clipped to the image. */
  readStart: number
  readEnd: number
}

export interface Tile {
  index: number
  x: AxisTile
  y: AxisTile
}

export interface TilePlan {
  width: number
  height: number
  tile: number
  overlap: number
  blend: number
  xs: AxisTile[]
  ys: AxisTile[]
  tiles: Tile[]
}

/** Split [0, size) into n = ceil(size / tile) nearly equal cores. */
export function axisBoundaries(size: number, tile: number): number[] {
  if (!(size > 0)) throw new Error(`size must be positive, got ${size}`)
  if (!(tile > 0)) throw new Error(`tile must be positive, got ${tile}`)
  const n = Math.max(1, Math.ceil(size / tile))
  const bounds: number[] = []
  for (let k = 0; k <= n; k++) bounds.push(Math.round((k * size) / n))
  return bounds
}

export function planAxis(size: number, tile: number, overlap: number): AxisTile[] {
  const b = axisBoundaries(size, tile)
  const out: AxisTile[] = []
  for (let k = 0; k + 1 < b.length; k++) {
    out.push({
      start: b[k],
      end: b[k + 1],
      readStart: Math.max(0, b[k] - overlap),
      readEnd: Math.min(size, b[k + 1] + overlap),
    })
  }
  return out
}

export function planTiles(width: number, height: number, tile: number, overlap: number): TilePlan {
  tile = Math.max(1, Math.floor(tile))
  overlap = Math.max(0, Math.floor(overlap))
  const xs = planAxis(width, tile, overlap)
  const ys = planAxis(height, tile, overlap)
  // The blend band must fit inside the context and inside the smallest core.
  const minCore = Math.min(...xs.map((a) => a.end - a.start), ...ys.map((a) => a.end - a.start))
  const blend = Math.max(0, Math.min(Math.floor(overlap / 2), Math.floor(minCore / 2)))
  const tiles: Tile[] = []
  for (const y of ys) for (const x of xs) tiles.push({ index: tiles.length, x, y })
  return { width, height, tile, overlap, blend, xs, ys, tiles }
}

/** Ramp that rises from 0 to 1 across the band [boundary - blend, boundary + blend), in output pixels. */
function rise(u: number, boundary: number, blend: number, scale: number): number {
  if (blend <= 0) return u + 0.5 >= boundary * scale ? 1 : 0
  const t = (u + 0.5 - (boundary - blend) * scale) / (2 * blend * scale)
  return t <= 0 ? 0 : t >= 1 ? 1 : t
}

/**
 * Weights of one tile along one axis, for output pixels [readStart*scale, readEnd*scale).
 * Pixels outside the tile's blend region get 0.
 */
export function axisWeights(axis: AxisTile, size: number, blend: number, scale: number): Float32Array {
  const from = axis.readStart * scale
  const to = axis.readEnd * scale
  const w = new Float32Array(to - from)
  const first = axis.start === 0
  const last = axis.end === size
  for (let u = from; u < to; u++) {
    const left = first ? 1 : rise(u, axis.start, blend, scale)
    const right = last ? 1 : 1 - rise(u, axis.end, blend, scale)
    w[u - from] = left * right
  }
  return w
}

/** Copy the tile's input region out of an RGBA image as planar float RGB in 0..1 (NCHW, N=1). */
export function extractTile(rgba: Uint8ClampedArray | Uint8Array, width: number, tile: Tile): Float32Array {
  const tw = tile.x.readEnd - tile.x.readStart
  const th = tile.y.readEnd - tile.y.readStart
  const plane = tw * th
  const out = new Float32Array(3 * plane)
  for (let y = 0; y < th; y++) {
    let src = ((tile.y.readStart + y) * width + tile.x.readStart) * 4
    let dst = y * tw
    for (let x = 0; x < tw; x++, src += 4, dst++) {
      out[dst] = rgba[src] / 255
      out[dst + plane] = rgba[src + 1] / 255
      out[dst + 2 * plane] = rgba[src + 2] / 255
    }
  }
  return out
}

/**
 * Add one tile's model output (planar RGB, size (readH*scale) x (readW*scale)) into the
 * interleaved RGB accumulator of the whole output image, weighted for a seamless blend.
 */
export function accumulateTile(
  acc: Float32Array,
  plan: TilePlan,
  tile: Tile,
  output: Float32Array,
  scale: number,
  weights?: { wx: Float32Array; wy: Float32Array },
): void {
  const outW = plan.width * scale
  const wx = weights?.wx ?? axisWeights(tile.x, plan.width, plan.blend, scale)
  const wy = weights?.wy ?? axisWeights(tile.y, plan.height, plan.blend, scale)
  const tw = (tile.x.readEnd - tile.x.readStart) * scale
  const th = (tile.y.readEnd - tile.y.readStart) * scale
  if (output.length !== 3 * tw * th) throw new Error(`tile output has ${output.length} values, expected ${3 * tw * th}`)
  const plane = tw * th
  const x0 = tile.x.readStart * scale
  const y0 = tile.y.readStart * scale
  for (let y = 0; y < th; y++) {
    const wyv = wy[y]
    if (wyv === 0) continue
    let src = y * tw
    let dst = ((y0 + y) * outW + x0) * 3
    for (let x = 0; x < tw; x++, src++, dst += 3) {
      const w = wyv * wx[x]
      if (w === 0) continue
      acc[dst] += w * output[src]
      acc[dst + 1] += w * output[src + plane]
      acc[dst + 2] += w * output[src + 2 * plane]
    }
  }
}

/** Interleaved float RGB (0..1) to RGBA bytes with alpha 255. */
export function toRGBA(acc: Float32Array, pixels: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(pixels * 4)
  for (let i = 0, j = 0; i < pixels; i++, j += 3) {
    out[i * 4] = acc[j] * 255 + 0.5
    out[i * 4 + 1] = acc[j + 1] * 255 + 0.5
    out[i * 4 + 2] = acc[j + 2] * 255 + 0.5
    out[i * 4 + 3] = 255
  }
  return out
}

/** Bytes of working memory that browser-mode inference needs for an output of this size. */
export function browserMemoryEstimate(outWidth: number, outHeight: number): number {
  return outWidth * outHeight * (3 * 4 + 4 + 4) // float accumulator + RGBA result + canvas copy
}
