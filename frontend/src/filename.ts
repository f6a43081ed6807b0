export type OutputFormat = 'png' | 'jpeg' | 'webp'

const EXTENSIONS: Record<OutputFormat, string> = { png: 'png', jpeg: 'jpg', webp: 'webp' }

/** "x4", "x2.5", "x1.33": at most two decimals, no trailing zeros. */
export function scaleLabel(scale: number): string {
  const rounded = Math.round(scale * 100) / 100
  return `x${Number.isInteger(rounded) ? rounded.toFixed(0) : String(rounded)}`
}

/** `photo.jpg` at 4x as PNG -> `photo_x4.png`. Keeps Unicode names; strips path parts and unsafe characters. */
export function outputFileName(original: string | undefined | null, scale: number, format: OutputFormat = 'png'): string {
  let base = (original ?? '').split(/[\\/]/).pop() ?? ''
  const dot = base.lastIndexOf('.')
  if (dot > 0) base = base.slice(0, dot)
  base = base
    .replace(/[\u0000-\u001f<>:"|?*]+/g, '_')
    .replace(/^\.+/, '')
    .trim()
  if (!base) base = 'image'
  if (base.length > 120) base = base.slice(0, 120)
  return `${base}_${scaleLabel(scale)}.${EXTENSIONS[format]}`
}
