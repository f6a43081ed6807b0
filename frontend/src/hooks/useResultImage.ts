import { useCallback, useState } from 'react'
import { outputFileName } from '../filename'
import type { JobOutput, UpscaleResult } from '../job/types'
import { record } from '../testEvents'

/** The format a result blob came in, for its download name. */
function formatOf(blob: Blob): 'png' | 'jpeg' | 'webp' {
  return blob.type === 'image/jpeg' ? 'jpeg' : blob.type === 'image/webp' ? 'webp' : 'png'
}

/** The upscaled image on show; its object URL is revoked when it is replaced or cleared. */
export function useResultImage(): {
  result: UpscaleResult | null
  showResult: (output: JobOutput, sourceName: string, scale: number) => void
  clearResult: () => void
} {
  const [result, setResult] = useState<UpscaleResult | null>(null)

  const showResult = useCallback((output: JobOutput, sourceName: string, scale: number) => {
    const { blob, width, height, seconds, via } = output
    setResult({ url: URL.createObjectURL(blob), width, height, fileName: outputFileName(sourceName, scale, formatOf(blob)), seconds, via })
    record({ kind: 'result', detail: `${width}x${height}` })
  }, [])

  const clearResult = useCallback(() => {
    setResult((r) => {
      if (r) URL.revokeObjectURL(r.url)
      return null
    })
  }, [])

  return { result, showResult, clearResult }
}
