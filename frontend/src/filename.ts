export type OutputFormat = 'png' | 'jpeg' | 'webp'

const EXTENSIONS: Record<OutputFormat, string> = { png: 'png', jpeg: 'jpg', webp: 'webp' }

/** "x4", "x2.5", "x1.33": at most two decimals, no trailing zeros. */
export function scaleLabel(scale: number): string {
  const rounded = Math.round(scale * 100) / 100
  return `x${Number.isInteger(rounded) ? rounded.toFixed(0) : String(rounded)}`
}

// The name's part before "_x4.png": at most 120 characters, and 200 UTF-8 bytes, so the whole name
// stays within the 255 bytes most file systems allow (120 Chinese characters alone are 360 bytes).
const MAX_BASE_CHARS = 120
const MAX_BASE_BYTES = 200

/** The first characters of `text` (whole code points: an emoji is never cut in half) within both limits. */
function shorten(text: string, maxChars: number, maxBytes: number): string {
  const encoder = new TextEncoder()
  let out = ''
  let bytes = 0
  for (const char of Array.from(text).slice(0, maxChars)) {
    bytes += encoder.encode(char).length
    if (bytes > maxBytes) break
    out += char
  }
  return out
}

/** `photo.jpg` at 4x as PNG -> `photo_x4.png`. Keeps Unicode names; strips path parts and unsafe characters. */
export function outputFileName(original: string | undefined | null, scale: number, format: OutputFormat = 'png'): string {
  let base = (original ?? '').split(/[\\/]/).pop() ?? ''
  const dot = base.lastIndexOf('.')
  if (dot > 0) base = base.slice(0, dot)
  base = base
    .replace(/[\u0000-\u001f<>:"|?*]+/g, '_')
    .trim()
    .replace(/^\.+/, '') // no hidden file, even from "  .name"
    .trim()
  base = shorten(base, MAX_BASE_CHARS, MAX_BASE_BYTES)
  if (!base) base = 'image'
  return `${base}_${scaleLabel(scale)}.${EXTENSIONS[format]}`
}
