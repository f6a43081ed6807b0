import { describe, expect, it } from 'vitest'
import { outputFileName, scaleLabel } from '../src/filename'

describe('outputFileName', () => {
  it('appends the scale and the output extension', () => {
    expect(outputFileName('photo.jpg', 4)).toBe('photo_x4.png')
    expect(outputFileName('photo.jpg', 2, 'jpeg')).toBe('photo_x2.jpg')
    expect(outputFileName('cat.tar.webp', 3, 'webp')).toBe('cat.tar_x3.webp')
  })
  it('handles names without extension, hidden files, paths and empty names', () => {
    expect(outputFileName('README', 4)).toBe('README_x4.png')
    expect(outputFileName('.png', 4)).toBe('png_x4.png')
    expect(outputFileName('C:\\Users\\me\\pic.png', 4)).toBe('pic_x4.png')
    expect(outputFileName('', 4)).toBe('image_x4.png')
    expect(outputFileName(undefined, 4)).toBe('image_x4.png')
  })
  it('keeps Unicode and strips characters that file systems refuse', () => {
    expect(outputFileName('照片 1.jpeg', 4)).toBe('照片 1_x4.png')
    expect(outputFileName('a<b>:c?.png', 2)).toBe('a_b_c__x2.png')
  })
  it('shortens a long name on whole characters, never half an emoji', () => {
    const name = outputFileName(`${'a'.repeat(119)}😀b.png`, 4)
    expect(() => encodeURIComponent(name)).not.toThrow() // throws on a lone half of a surrogate pair
    expect(name).toBe(`${'a'.repeat(119)}😀_x4.png`)
  })
  it('keeps a long non-Latin name within the 255 bytes a file name may have on disk', () => {
    const name = outputFileName(`${'照'.repeat(200)}.png`, 1.33, 'webp')
    expect(new TextEncoder().encode(name).length).toBeLessThanOrEqual(255)
    expect(name).toMatch(/^照+_x1\.33\.webp$/)
    expect(new TextEncoder().encode(outputFileName(`${'😀'.repeat(100)}.png`, 4)).length).toBeLessThanOrEqual(255)
  })
  it('gives no hidden file (a leading dot) even after spaces', () => {
    expect(outputFileName('  .hidden.png', 4)).toBe('hidden_x4.png')
  })
  it('formats fractional scales', () => {
    expect(scaleLabel(2.5)).toBe('x2.5')
    expect(scaleLabel(4)).toBe('x4')
    expect(scaleLabel(1.3333)).toBe('x1.33')
  })
})
