import { useCallback, useRef, type RefObject } from 'react'

/** A hidden <input type=file> that several places (dropzone, empty stage) can open. */
export function useFileChooser(): { inputRef: RefObject<HTMLInputElement | null>; chooseFile: () => void } {
  const inputRef = useRef<HTMLInputElement>(null)
  const chooseFile = useCallback(() => inputRef.current?.click(), [])
  return { inputRef, chooseFile }
}
