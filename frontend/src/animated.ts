/**
 * Is an image file animated (GIF, APNG, animated WebP)? The page upscales only the first frame,
 * so it shows that frame, not the animation, as "Before".
 */

function ascii(b: Uint8Array, at: number, len: number): string {
  return String.fromCharCode(...b.subarray(at, at + len))
}

/** Skip GIF data sub-blocks (length-prefixed, ended by a 0 byte); returns the offset after them. */
function skipSubBlocks(b: Uint8Array, i: number): number {
  while (i < b.length && b[i] !== 0) i += b[i] + 1
  return i + 1
}

function gifFrames(b: Uint8Array): number {
  let i = 13
  if (b[10] & 0x80) i += 3 * 2 ** ((b[10] & 7) + 1) // global colour table
  let frames = 0
  while (i < b.length) {
    const block = b[i]
    if (block === 0x3b) break // trailer
    if (block === 0x21) i = skipSubBlocks(b, i + 2) // extension: introducer, label, sub-blocks
    else if (block === 0x2c) {
      frames++
      if (frames > 1) break
      const packed = b[i + 9]
      i += 10
      if (packed & 0x80) i += 3 * 2 ** ((packed & 7) + 1) // local colour table
      i = skipSubBlocks(b, i + 1) // LZW minimum code size, then the data
    } else break // corrupt: stop looking
  }
  return frames
}

/** APNG: an acTL chunk comes before the first IDAT. */
function pngAnimated(b: Uint8Array): boolean {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  let i = 8
  while (i + 8 <= b.length) {
    const type = ascii(b, i + 4, 4)
    if (type === 'acTL') return true
    if (type === 'IDAT' || type === 'IEND') return false
    i += 12 + view.getUint32(i)
  }
  return false
}

/** Animated WebP: the VP8X chunk's animation flag. */
function webpAnimated(b: Uint8Array): boolean {
  return b.length > 20 && ascii(b, 12, 4) === 'VP8X' && (b[20] & 0x02) !== 0
}

export function isAnimatedImage(b: Uint8Array): boolean {
  if (b.length < 16) return false
  if (ascii(b, 0, 4) === 'GIF8') return gifFrames(b) > 1
  if (b[0] === 0x89 && ascii(b, 1, 3) === 'PNG') return pngAnimated(b)
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return webpAnimated(b)
  return false
}

export async function isAnimatedFile(file: Blob): Promise<boolean> {
  try {
    return isAnimatedImage(new Uint8Array(await file.arrayBuffer()))
  } catch {
    return false
  }
}
