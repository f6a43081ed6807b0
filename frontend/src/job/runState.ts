/**
 * Pure transitions of a running job's progress state. Each takes the current state and returns
 * the next; the hook applies them with `setRun((r) => r && next(r))`, so an update that arrives
 * after the job ended (state null) is dropped.
 */
import type { ExecutionBackend } from '../browser/protocol'
import { TERMINAL_OK, type JobProgress } from '../api/jobs'
import type { EngineKind, RunStage, RunState } from './types'

export type RunUpdate = (run: RunState) => RunState

/** How a job runner reports progress without knowing about React state. */
export interface RunReporter {
  begin(run: RunState): void
  update(change: RunUpdate): void
}

export function initialRun(engine: EngineKind, stage: RunStage, startedAt: number): RunState {
  return { engine, stage, progress: 0, startedAt }
}

/** "WebGPU" / "WASM", as shown next to "In browser". */
export function executionBackendLabel(backend: ExecutionBackend): string {
  return backend === 'webgpu' ? 'WebGPU' : 'WASM'
}

/** The job was created on the server and now waits for its turn. */
export const uploaded: RunUpdate = (r) => ({ ...r, stage: 'queued' })

/** Upload progress in whole percent (null when the size is unknown); too late once the job is queued. */
export function uploadProgress(loaded: number, total: number): RunUpdate {
  return (r) => (r.stage === 'uploading' ? { ...r, upload: total ? Math.round((100 * loaded) / total) : null } : r)
}

/** The browser worker moved to another stage; an empty label keeps the one already known. */
export function browserStage(stage: RunStage, backendLabel: string): RunUpdate {
  return (r) => ({ ...r, stage, backendLabel: backendLabel || r.backendLabel })
}

/** Model download progress in percent; null when the size is unknown. */
export function modelDownload(loaded: number, total: number | null): RunUpdate {
  return (r) => ({ ...r, download: total ? Math.round((100 * loaded) / total) : null })
}

/**
 * A browser tile report: progress, tile count and a linear time-left estimate. The estimate is
 * measured from the first report (the worker sends 0 done before the first tile), not from the
 * job start, which includes the model download.
 */
export function tileProgress(done: number, total: number, clock: () => number = Date.now): RunUpdate {
  return (r) => {
    const now = clock()
    const tileClock = r.tileClock ?? { at: now, done }
    const tilesTimed = done - tileClock.done
    return {
      ...r,
      stage: 'running',
      progress: (100 * done) / total,
      tilesDone: done,
      tilesTotal: total,
      tileClock,
      eta: tilesTimed > 0 ? ((now - tileClock.at) / 1000 / tilesTimed) * (total - done) : null,
    }
  }
}

/** The stage a server job state maps to: a finished job is still being fetched ("Finishing"). */
export function stageForJobState(state: string): RunStage {
  return state === 'queued' ? 'queued' : TERMINAL_OK.has(state) ? 'encoding' : 'running'
}

/** A progress report from the server (SSE or poll); a report without a device keeps the known one. */
export function serverProgress(p: JobProgress): RunUpdate {
  return (r) => ({
    ...r,
    stage: stageForJobState(p.state),
    progress: p.progress,
    tilesDone: p.tilesDone,
    tilesTotal: p.tilesTotal,
    eta: p.eta,
    queuePosition: p.queuePosition,
    backendLabel: p.device ?? r.backendLabel,
  })
}
