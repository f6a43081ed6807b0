/** The shapes a job passes through: the image it starts from, its progress, and its result. */
import type { DecodedImage } from '../browser/upscaler'

export type EngineKind = 'server' | 'browser'

export interface SourceImage {
  file: Blob
  name: string
  /** Object URL shown as "Before" and in the thumbnail. */
  url: string
  width: number
  height: number
  decoded: DecodedImage
  /** Only the first frame is upscaled; `url` then shows that frame as a still. */
  animated: boolean
}

export type RunStage = 'uploading' | 'queued' | 'loading-model' | 'running' | 'encoding'

/** A job in flight, as the progress card shows it. */
export interface RunState {
  engine: EngineKind
  stage: RunStage
  /** 0..100 */
  progress: number
  tilesDone?: number
  tilesTotal?: number
  /** Seconds left, when known. */
  eta?: number | null
  queuePosition?: number | null
  /** Server: how much of the image has been sent, in percent; null when the size is unknown. */
  upload?: number | null
  /** Model download percentage in the browser; null when the size is unknown. */
  download?: number | null
  /**
   * Browser: when the tiles began and how many were done then (the first tile report), so the
   * time left leaves out the model download before them.
   */
  tileClock?: { at: number; done: number }
  /** Server device ("cuda") or browser execution backend ("WebGPU", "WASM"). */
  backendLabel?: string
  startedAt: number
}

/** Which engine produced a result; translated at render time, so a language switch applies to it. */
export interface ResultVia {
  engine: EngineKind
  detail: string
}

/** What a finished job hands back, before it is shown. */
export interface JobOutput {
  blob: Blob
  width: number
  height: number
  seconds: number
  via: ResultVia
}

export interface UpscaleResult {
  url: string
  width: number
  height: number
  fileName: string
  seconds: number
  via: ResultVia
}
