import { describe, expect, it } from 'vitest'
import {
  browserStage,
  executionBackendLabel,
  initialRun,
  modelDownload,
  serverProgress,
  stageForJobState,
  tileProgress,
  uploaded,
  uploadProgress,
} from '../src/job/runState'
import type { JobProgress } from '../src/api/jobs'

const progress = (over: Partial<JobProgress>): JobProgress => ({ state: 'running', progress: 0, source: 'sse', ...over })

describe('run state transitions', () => {
  it('starts at 0% in the given stage', () => {
    expect(initialRun('server', 'uploading', 1000)).toEqual({ engine: 'server', stage: 'uploading', progress: 0, startedAt: 1000 })
  })

  it('queues a job once uploaded, keeping the rest', () => {
    const r = { ...initialRun('server', 'uploading', 1000), backendLabel: 'cuda' }
    expect(uploaded(r)).toEqual({ ...r, stage: 'queued' })
  })

  it('upload progress in whole percent while uploading; ignored once the job is queued', () => {
    const r = initialRun('server', 'uploading', 0)
    expect(uploadProgress(1, 3)(r)).toEqual({ ...r, upload: 33 })
    expect(uploadProgress(3, 3)(r).upload).toBe(100)
    expect(uploadProgress(0, 0)(r).upload).toBeNull()
    const queued = uploaded(uploadProgress(3, 3)(r))
    expect(uploadProgress(1, 3)(queued)).toBe(queued)
  })

  it('labels execution backends as shown to the user', () => {
    expect(executionBackendLabel('webgpu')).toBe('WebGPU')
    expect(executionBackendLabel('wasm')).toBe('WASM')
  })

  it('browser stage: an empty label keeps the known one', () => {
    const r = { ...initialRun('browser', 'loading-model', 0), backendLabel: 'WASM' }
    expect(browserStage('running', '')(r)).toMatchObject({ stage: 'running', backendLabel: 'WASM' })
    expect(browserStage('running', 'WebGPU')(r)).toMatchObject({ stage: 'running', backendLabel: 'WebGPU' })
  })

  it('model download in whole percent, null when the size is unknown', () => {
    const r = initialRun('browser', 'loading-model', 0)
    expect(modelDownload(1, 3)(r).download).toBe(33)
    expect(modelDownload(5, null)(r).download).toBeNull()
    expect(modelDownload(5, 0)(r).download).toBeNull()
  })

  it('tile progress estimates the time left linearly from the time so far', () => {
    const r = tileProgress(0, 4, () => 10_000)(initialRun('browser', 'loading-model', 0))
    expect(r).toMatchObject({ stage: 'running', progress: 0, tilesDone: 0, tilesTotal: 4, eta: null })
    const next = tileProgress(1, 4, () => 12_000)(r)
    expect(next).toMatchObject({ stage: 'running', progress: 25, tilesDone: 1, tilesTotal: 4, eta: 6 })
    expect(tileProgress(4, 4, () => 12_000)(r)).toMatchObject({ progress: 100, eta: 0 })
  })

  it('tile time left is measured from the first tile, not from the job start (model download)', () => {
    // 10 s of model download, then tiles at 2 s each.
    const r = initialRun('browser', 'loading-model', 0)
    const started = tileProgress(0, 4, () => 10_000)(r)
    expect(started.eta).toBeNull()
    const one = tileProgress(1, 4, () => 12_000)(started)
    expect(one.eta).toBe(6)
    expect(tileProgress(2, 4, () => 14_000)(one).eta).toBe(4)
  })

  it('without a 0-tile report the clock starts at the first report', () => {
    const r = initialRun('browser', 'loading-model', 0)
    const first = tileProgress(1, 5, () => 10_000)(r)
    expect(first.eta).toBeNull()
    expect(tileProgress(3, 5, () => 14_000)(first).eta).toBe(4)
  })

  it('maps server job states to stages', () => {
    expect(stageForJobState('queued')).toBe('queued')
    expect(stageForJobState('running')).toBe('running')
    expect(stageForJobState('succeeded')).toBe('encoding')
    expect(stageForJobState('done')).toBe('encoding')
    expect(stageForJobState('failed')).toBe('running')
  })

  it('server progress copies the report; a report without a device keeps the known one', () => {
    const r = { ...initialRun('server', 'queued', 0), backendLabel: 'cuda', queuePosition: 2 }
    const next = serverProgress(progress({ progress: 40, tilesDone: 2, tilesTotal: 5, eta: 3, queuePosition: null, device: null }))(r)
    expect(next).toEqual({ ...r, stage: 'running', progress: 40, tilesDone: 2, tilesTotal: 5, eta: 3, queuePosition: null, backendLabel: 'cuda' })
    expect(serverProgress(progress({ device: 'cpu' }))(r).backendLabel).toBe('cpu')
    expect(serverProgress(progress({ state: 'queued', queuePosition: 1 }))(r)).toMatchObject({ stage: 'queued', queuePosition: 1 })
  })

  it('never mutates the state it is given', () => {
    const r = Object.freeze(initialRun('browser', 'loading-model', 0))
    expect(() => tileProgress(1, 2, () => 1)(r)).not.toThrow()
    expect(r.progress).toBe(0)
  })
})
