import { useCallback, useEffect, useMemo, useRef, useState, type RefObject } from 'react'
import type { AppConfig } from '../config'
import { serverDeviceType, type CheckedEngine, type Engine } from '../engine'
import type { OutputFormat } from '../filename'
import { checkLimits } from '../limits'
import { browserModelFor } from '../modelOptions'
import { BackendUnreachable } from '../api/errors'
import { cancelJob } from '../api/jobs'
import type { Limits, ServerModel } from '../api/system'
import { runBrowserJob } from '../job/browserJob'
import { errorState, isAbort, untilAborted } from '../job/errors'
import type { RunReporter } from '../job/runState'
import { runServerJob } from '../job/serverJob'
import type { JobOutput, RunState, SourceImage } from '../job/types'
import { record } from '../testEvents'
import type { JobFeedback } from './useJobFeedback'

export interface UpscaleJobDeps {
  config: AppConfig
  engine: Engine
  checkEngine: () => Promise<CheckedEngine>
  fallBackDuringJob: () => void
  /** The server's limits; awaited before a server job, since the backend may have just come back. */
  serverLimits: () => Promise<Limits>
  /** The backend's model list as of the check before the job; awaited before a server job. */
  serverModelList: () => Promise<ServerModel[] | null>
  /** The model shown in the picker. */
  model: string
  /** The model a job runs with on the engine found by the check before it, given the backend's list. */
  modelFor: (engine: CheckedEngine, serverModels: ServerModel[] | null) => string
  scale: number
  format: OutputFormat
  feedback: JobFeedback
  showResult: (output: JobOutput, sourceName: string, scale: number) => void
  clearResult: () => void
}

export interface UpscaleJob {
  run: RunState | null
  /** From the click on Start until the job has ended (including the engine check before it). */
  running: boolean
  /** Set synchronously when a job starts, before any await; a file loaded meanwhile is refused. */
  busyRef: RefObject<boolean>
  /** `confirmed`: the user saw the limit warnings and chose to go on. */
  start: (source: SourceImage | null, confirmed: boolean) => Promise<void>
  cancel: () => void
}

/** Start, follow and cancel one job at a time, on the server or in the browser. */
export function useUpscaleJob(deps: UpscaleJobDeps): UpscaleJob {
  const { config, engine, checkEngine, fallBackDuringJob, serverLimits, serverModelList, model, modelFor, scale, format, feedback, showResult, clearResult } = deps
  const [run, setRun] = useState<RunState | null>(null)
  const [busy, setBusy] = useState(false)
  const busyRef = useRef(false)
  const abortRef = useRef<AbortController | null>(null)
  // The server job a cancel must delete; null before it exists and once its result is in.
  const jobIdRef = useRef<string | null>(null)

  const reporter = useMemo<RunReporter>(
    () => ({ begin: setRun, update: (change) => setRun((r) => r && change(r)) }),
    [],
  )

  const runOnServer = useCallback(
    async (source: SourceImage, model: string, signal: AbortSignal) => {
      const output = await runServerJob({
        config,
        source,
        options: { model, scale, format },
        fallbackDevice: serverDeviceType(engine),
        signal,
        reporter,
        trackJob: (id) => (jobIdRef.current = id),
      })
      showResult(output, source.name, scale)
    },
    [config, scale, format, engine, reporter, showResult],
  )

  const runInBrowser = useCallback(
    async (source: SourceImage, model: string, backendMaybeUp: boolean, signal: AbortSignal) => {
      const output = await runBrowserJob({ config, source, model, scale, backendMaybeUp, signal, reporter })
      showResult(output, source.name, scale)
    },
    [config, scale, reporter, showResult],
  )

  const start = useCallback(
    async (source: SourceImage | null, confirmed: boolean) => {
      // Marked busy before any await, so a second click cannot start a second job.
      if (!source || busyRef.current) return
      busyRef.current = true
      setBusy(true)
      const abort = new AbortController()
      abortRef.current = abort
      feedback.setError(null)
      feedback.setInfo(null)
      feedback.setNotice(null)
      feedback.setWarnings(null)
      feedback.setModelSwitch(null)
      try {
        const eng = await untilAborted(checkEngine(), abort.signal)
        const kind = eng.kind === 'server' ? 'server' : 'browser'
        if (!confirmed) {
          const limits = kind === 'server' ? await untilAborted(serverLimits(), abort.signal) : {}
          const found = checkLimits({
            width: source.width,
            height: source.height,
            fileBytes: source.file.size,
            scale,
            engine: kind,
            limits,
            browserMaxOutputPixels: config.browserMaxOutputPixels,
          })
          if (found.length) {
            feedback.setWarnings(found)
            record({ kind: 'warning', detail: found.map((w) => w.key).join(',') })
            return
          }
        }
        // A server job waits for the model list this check asked for: the backend may have come
        // back, or been redeployed, with other models.
        const list = kind === 'server' ? await untilAborted(serverModelList(), abort.signal) : null
        clearResult()
        // The engine may have changed since the picker was drawn: the server gets the user's
        // choice back (or its default if it lacks it), the browser one of its own models.
        const jobModel = modelFor(eng, list)
        if (kind === 'server') {
          try {
            await runOnServer(source, jobModel, abort.signal)
          } catch (err) {
            if (!(err instanceof BackendUnreachable) || abort.signal.aborted) throw err
            // The backend went away mid-job: carry on in the browser, with a model it can run.
            feedback.setInfo('fallbackDuringJob')
            fallBackDuringJob()
            const browserModel = browserModelFor(jobModel, config.defaultModel)
            if (browserModel !== jobModel) feedback.setModelSwitch({ from: jobModel, to: browserModel })
            await runInBrowser(source, browserModel, false, abort.signal)
          }
        } else {
          if (jobModel !== model) feedback.setModelSwitch({ from: model, to: jobModel })
          await runInBrowser(source, jobModel, eng.kind === 'browser' && eng.reason !== 'unreachable', abort.signal)
        }
      } catch (err) {
        if (isAbort(err)) {
          feedback.setInfo('cancelled')
          record({ kind: 'cancel' })
        } else {
          feedback.setError(errorState(err))
          record({ kind: 'error', detail: err instanceof Error ? err.message : String(err) })
        }
      } finally {
        abortRef.current = null
        jobIdRef.current = null
        busyRef.current = false
        setBusy(false)
        feedback.setNotice(null)
        setRun(null)
      }
    },
    [checkEngine, scale, serverLimits, serverModelList, config, feedback, clearResult, model, modelFor, runOnServer, runInBrowser, fallBackDuringJob],
  )

  // "Continuing in your browser" is about the fallback: once a check finds the backend again (the
  // badge says Server), the line would contradict it, so it goes.
  useEffect(() => {
    if (engine.kind === 'server' && !busy) feedback.dropInfo('fallbackDuringJob')
  }, [engine.kind, busy, feedback])

  const cancel = useCallback(() => {
    const id = jobIdRef.current
    if (id) void cancelJob(config, id)
    abortRef.current?.abort()
  }, [config])

  return { run, running: busy || run !== null, busyRef, start, cancel }
}
