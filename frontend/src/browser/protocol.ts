/** Messages between the page and the inference worker. */
export interface RunRequest {
  type: 'run'
  modelName: string
  /** Tried in order: our backend's export first, then the copy in the static build. */
  modelUrls: string[]
  width: number
  height: number
  rgba: ArrayBuffer
  tile: number
  overlap: number
  preferWebGPU: boolean
}

export type WorkerEvent =
  | { type: 'stage'; stage: 'loading-model' | 'running'; backend?: ExecutionBackend; modelUrl?: string }
  | { type: 'download'; loaded: number; total: number | null }
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; width: number; height: number; scale: number; rgba: ArrayBuffer; backend: ExecutionBackend }
  /** missingModel: no URL served that model (the page says how to install it). */
  | { type: 'error'; message: string; missingModel?: string }

export type ExecutionBackend = 'webgpu' | 'wasm'
