import { useEffect, useState } from 'react'
import type { MessageKey } from '../i18n'

/** The name a pasted image gets: browsers call every clipboard image "image.png". */
export function pastedFileName(name: string): string {
  return name && name !== 'image.png' ? name : 'pasted.png'
}

/**
 * The first image among dropped files, else whatever was dropped first (it then fails to open,
 * visibly), and how many other files were dropped with it (the page says they were left out).
 */
export function pickDroppedFile(files: ArrayLike<File>): { file: File; others: number } | undefined {
  const list = Array.from(files)
  const file = list.find((f) => f.type.startsWith('image/')) ?? list[0]
  return file && { file, others: list.length - 1 }
}

/**
 * Images may be dropped or pasted anywhere on the page, not only on the dropzone.
 * Returns whether a drag is over the page, for the highlight.
 */
export function useWindowDropAndPaste(loadFile: (file: File, name?: string, note?: MessageKey) => Promise<void>): boolean {
  const [dragging, setDragging] = useState(false)
  useEffect(() => {
    const onPaste = (e: ClipboardEvent) => {
      const item = [...(e.clipboardData?.items ?? [])].find((i) => i.type.startsWith('image/'))
      const file = item?.getAsFile()
      if (file) {
        e.preventDefault()
        void loadFile(file, pastedFileName(file.name))
      }
    }
    const onDragOver = (e: DragEvent) => {
      e.preventDefault()
      setDragging(true)
    }
    const onDragLeave = (e: DragEvent) => {
      // Only leaving the window has no related target; moving between elements does.
      if (!e.relatedTarget) setDragging(false)
    }
    const onDrop = (e: DragEvent) => {
      e.preventDefault()
      setDragging(false)
      const picked = e.dataTransfer ? pickDroppedFile(e.dataTransfer.files) : undefined
      if (picked) void loadFile(picked.file, undefined, picked.others ? 'onlyOneDropped' : undefined)
    }
    window.addEventListener('paste', onPaste)
    window.addEventListener('dragover', onDragOver)
    window.addEventListener('dragleave', onDragLeave)
    window.addEventListener('drop', onDrop)
    return () => {
      window.removeEventListener('paste', onPaste)
      window.removeEventListener('dragover', onDragOver)
      window.removeEventListener('dragleave', onDragLeave)
      window.removeEventListener('drop', onDrop)
    }
  }, [loadFile])
  return dragging
}
