import { describe, expect, it } from 'vitest'
import { pastedFileName, pickDroppedFile } from '../src/hooks/useWindowDropAndPaste'

const file = (name: string, type: string) => new File(['x'], name, { type })

describe('dropped and pasted files', () => {
  it('prefers an image among dropped files, else takes the first', () => {
    const text = file('notes.txt', 'text/plain')
    const png = file('a.png', 'image/png')
    expect(pickDroppedFile([text, png])?.file).toBe(png)
    expect(pickDroppedFile([text])?.file).toBe(text)
    expect(pickDroppedFile([])).toBeUndefined()
  })

  it('counts the files left out, so the page can say only one was opened', () => {
    const png = file('a.png', 'image/png')
    expect(pickDroppedFile([png])?.others).toBe(0)
    expect(pickDroppedFile([file('notes.txt', 'text/plain'), png, file('b.jpg', 'image/jpeg')])).toEqual({ file: png, others: 2 })
  })

  it('names pasted images "pasted.png" unless they carry a real name', () => {
    expect(pastedFileName('image.png')).toBe('pasted.png')
    expect(pastedFileName('')).toBe('pasted.png')
    expect(pastedFileName('shot.png')).toBe('shot.png')
  })
})
