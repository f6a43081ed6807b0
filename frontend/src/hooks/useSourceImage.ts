import { useCallback, useRef, useState, type RefObject } from 'react'
import { isAnimatedFile } from '../animated'
import { decodeImage, encodePng, type DecodedImage } from '../browser/upscaler'
import type { MessageKey } from '../i18n'
import type { SourceImage } from '../job/types'
import { latestOnly } from '../latestOnly'
import { record } from '../testEvents'
import type { JobFeedback } from './useJobFeedback'

/** What "Before" shows: the file itself, or for an animation the first frame (the one upscaled). */
async function sourceUrl(file: Blob, decoded: DecodedImage, animated: boolean): Promise<string> {
  return URL.createObjectURL(animated ? await encodePng(decoded.data) : file)
}

export interface SourceImageDeps {
  /** True while a job runs: a new image then gets a notice instead of replacing the running one. */
  busyRef: RefObject<boolean>
  running: boolean
  feedback: JobFeedback
  clearResult: () => void
}

/** The image to upscale: loading one (from any input) and putting it away for a new one. */
export function useSourceImage({ busyRef, running, feedback, clearResult }: SourceImageDeps): {
  source: SourceImage | null
  /** `note`: an info line to show once the image is open (e.g. the other dropped files were left out). */
  loadFile: (file: File | Blob, name?: string, note?: MessageKey) => Promise<void>
  reset: () => void
} {
  const [source, setSource] = useState<SourceImage | null>(null)
  // Files opened one after another decode side by side: only the last one opened may show.
  const loads = useRef(latestOnly())

  const loadFile = useCallback(
    async (file: File | Blob, name?: string, note?: MessageKey) => {
      if (busyRef.current) return feedback.setNotice('busyDrop')
      const fileName = name ?? (file as File).name ?? 'image.png'
      const isLatest = loads.current.begin()
      let decoded: DecodedImage
      let url: string
      let animated: boolean
      try {
        decoded = await decodeImage(file)
        animated = await isAnimatedFile(file)
        url = await sourceUrl(file, decoded, animated)
      } catch {
        if (!isLatest()) return record({ kind: 'superseded', detail: fileName })
        // Nothing was replaced: the current image and result stay as they are.
        feedback.setError({ title: 'openFailedTitle', key: 'notAnImage', params: { name: fileName } })
        record({ kind: 'openFailed', detail: fileName })
        return
      }
      if (!isLatest()) {
        // A file opened after this one has taken its place (or will): the user's last choice wins.
        URL.revokeObjectURL(url)
        return record({ kind: 'superseded', detail: fileName })
      }
      if (busyRef.current) {
        // A job started while this file was being decoded.
        URL.revokeObjectURL(url)
        return feedback.setNotice('busyDrop')
      }
      feedback.setError(null)
      feedback.setInfo(note ?? null)
      feedback.setWarnings(null)
      clearResult()
      setSource((old) => {
        if (old) URL.revokeObjectURL(old.url)
        return { file, name: fileName, url, width: decoded.width, height: decoded.height, decoded, animated }
      })
      record({ kind: 'loaded', detail: `${decoded.width}x${decoded.height}${animated ? ':animated' : ''}` })
    },
    [busyRef, feedback, clearResult],
  )

  // "New image": back to the empty dropzone.
  const reset = useCallback(() => {
    if (running) return
    loads.current.begin() // a file still opening does not come back after "New image"
    setSource((s) => {
      if (s) URL.revokeObjectURL(s.url)
      return null
    })
    clearResult()
    feedback.setError(null)
    feedback.setInfo(null)
    feedback.setWarnings(null)
  }, [running, feedback, clearResult])

  return { source, loadFile, reset }
}
